import { daily, type PartitionScheme } from "@reflow/core";
import type { Plan, PlannedTask, TaskReason } from "@reflow/planner";
import { describe, expect, it } from "vitest";
import { collapseRanges, formatPlan } from "../src/format/plan-report.js";

const DAILY = daily({ start: "2024-01-01" });
const schemeOf = (dataset: string): PartitionScheme => (dataset === "summary" ? { kind: "unpartitioned" } : DAILY);

function task(dataset: string, partition: string, reason: TaskReason, reads: string[] = []): PlannedTask {
  return { dataset, partition, reason, fingerprint: "f", inputs: reads.map((d) => ({ dataset: d, partitions: [partition] })) };
}

function planOf(tasks: PlannedTask[], changes: Record<string, Plan["datasets"][number]["change"]>): Plan {
  return {
    asOf: new Date("2024-01-06T00:00:00Z"),
    datasets: Object.entries(changes).map(([name, change]) => ({ name, change, partitionCount: 5 })),
    tasks,
    summary: { tasks: tasks.length, datasets: new Set(tasks.map((t) => t.dataset)).size },
  };
}

describe("collapseRanges", () => {
  it("joins consecutive days with one reason, and breaks on a gap or a new reason", () => {
    const tasks = [
      task("a", "2024-01-01", "missing"),
      task("a", "2024-01-02", "missing"),
      task("a", "2024-01-04", "missing"),
      task("a", "2024-01-05", "failed"),
      task("b", "2024-01-01", "missing"),
    ];
    expect(collapseRanges(tasks, schemeOf)).toEqual([
      { dataset: "a", first: "2024-01-01", last: "2024-01-02", count: 2, reason: "missing" },
      { dataset: "a", first: "2024-01-04", last: "2024-01-04", count: 1, reason: "missing" },
      { dataset: "a", first: "2024-01-05", last: "2024-01-05", count: 1, reason: "failed" },
      { dataset: "b", first: "2024-01-01", last: "2024-01-01", count: 1, reason: "missing" },
    ]);
  });
});

describe("formatPlan", () => {
  it("lists as downstream only datasets rebuilt because what they read is rebuilt, naming it", () => {
    const plan = planOf(
      [
        task("clean", "2024-01-01", "code-changed", ["raw"]),
        task("clean", "2024-01-02", "code-changed", ["raw"]),
        // A new day only: not affected by the change.
        task("other", "2024-01-05", "missing", ["raw"]),
        task("summary", "*", "upstream-changed", ["clean", "other"]),
      ],
      { raw: "unchanged", clean: "modified", other: "unchanged", summary: "unchanged" },
    );
    expect(formatPlan(plan, schemeOf)).toBe(
      [
        "Plan as of 2024-01-06T00:00:00.000Z",
        "",
        "Changed directly:",
        "  ~ clean (modified)",
        "Affected downstream (rebuilt unless what they read comes out unchanged):",
        "  ↳ summary (reads clean, other)",
        "",
        "Partitions to build:",
        "  clean: 2024-01-01 … 2024-01-02 (2 partitions) code-changed",
        "  other: 2024-01-05 (1 partition) missing",
        "  summary: (unpartitioned) upstream-changed",
        "",
        "Plan: 4 partitions to build in 3 datasets (1 missing, 2 code-changed, 1 upstream-changed); 1 changed directly.",
        "",
      ].join("\n"),
    );
  });

  it("says so when what a dataset reads was rebuilt by an earlier run rather than this plan", () => {
    const plan = planOf([task("weekly", "2024-W01", "upstream-changed", ["daily"])], { daily: "unchanged", weekly: "unchanged" });
    expect(formatPlan(plan, schemeOf)).toContain("\nAffected downstream (rebuilt unless what they read comes out unchanged):\n  ↳ weekly (reads what an earlier run rebuilt)\n");
  });

  it("says there is nothing to do when no task and no definition changed", () => {
    expect(formatPlan(planOf([], { raw: "unchanged", clean: "unchanged" }), schemeOf)).toBe(
      "No changes. 2 datasets up to date as of 2024-01-06T00:00:00.000Z.\n",
    );
  });
});

describe("formatPlan with change categories", () => {
  it("shows each modified dataset's category, the readers a non-breaking change does not rebuild, and mixed-logic warnings", () => {
    const builds = [task("clean", "2024-01-01", "code-changed", ["raw"]), task("clean", "2024-01-02", "code-changed", ["raw"])];
    const kept = ["2024-01-01", "2024-01-02"].map((day) => ({ ...task("report", day, "upstream-changed", ["clean"]), keep: true as const }));
    const plan: Plan = {
      ...planOf([...builds, ...kept], { raw: "unchanged", report: "unchanged" }),
      datasets: [
        { name: "clean", change: "modified", partitionCount: 5, category: "non-breaking", why: "non-breaking (--non-breaking)" },
        { name: "report", change: "unchanged", partitionCount: 5 },
      ],
      summary: { tasks: 2, datasets: 1, kept: 2 },
      warnings: [{ dataset: "clean", message: "warning: clean will have 2 logic versions live: 2024-01-01…2024-01-02 (this plan), 2024-01-03… (code of run 1)", versions: [] }],
    };
    expect(formatPlan(plan, schemeOf)).toBe(
      [
        "Plan as of 2024-01-06T00:00:00.000Z",
        "",
        "Changed directly:",
        "  ~ clean (modified): non-breaking (--non-breaking)",
        "Not rebuilt (what they read changes only by a non-breaking change; apply records the new input versions):",
        "  = report (reads clean): 2 partitions",
        "",
        "Partitions to build:",
        "  clean: 2024-01-01 … 2024-01-02 (2 partitions) code-changed",
        "",
        "Plan: 2 partitions to build in 1 dataset (2 code-changed); 1 changed directly; 2 partitions not rebuilt (non-breaking change upstream).",
        "",
        "warning: clean will have 2 logic versions live: 2024-01-01…2024-01-02 (this plan), 2024-01-03… (code of run 1)",
        "",
      ].join("\n"),
    );
  });
});
