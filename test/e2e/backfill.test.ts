import { afterAll, describe, expect, it } from "vitest";
import { ok, planJson, rowsOf, tasks, withEnv, withoutElapsed } from "../support/e2e.js";
import { AS_OF, fixtureFiles, REVENUE_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

/** revenue's transform fails on the days listed in FAIL_DAYS (an environment variable: not part of the code). */
function projectFailingOn(): TempProject {
  const project = new TempProject(fixtureFiles());
  project.edit(
    "pipelines/revenue.ts",
    "    let total = 0;\n",
    '    if ((process.env.FAIL_DAYS ?? "").split(",").includes(partition.key)) throw new Error("warehouse unavailable");\n    let total = 0;\n',
  );
  // Fault injection does not change what the transform computes: no warning, no rebuild when it changes.
  project.edit("pipelines/revenue.ts", "  transform: async ({ inputs, partition }) => {\n", '  ignoreEnv: ["FAIL_DAYS"],\n  transform: async ({ inputs, partition }) => {\n');
  return project;
}

describe("reflow backfill: a daily job failed for a week", () => {
  const project = projectFailingOn();
  afterAll(() => project.dispose());

  it("by default fills only the missing or failed partitions in the range, and leaves the rest of the plan for `apply`", () => {
    const failed = withEnv({ FAIL_DAYS: "2024-01-02,2024-01-03,2024-01-04" }, () => project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(failed.status).toBe(1);
    const stdout = ok(project.reflow("backfill", "revenue", "--from", "2024-01-03", "--to", "2024-01-05", "--yes", "--as-of", AS_OF));
    expect(withoutElapsed(stdout)).toBe(
      [
        `Plan as of 2024-01-06T00:00:00.000Z`,
        "",
        // The failed first apply never recorded these two datasets as applied.
        "Changed directly:",
        "  + revenue (added)",
        "  + revenue_total (added)",
        "",
        "Partitions to build:",
        "  revenue: 2024-01-03 … 2024-01-04 (2 partitions) failed",
        "",
        "Plan: 2 partitions to build in 1 dataset (2 failed); 2 changed directly; 2 other partitions outside this backfill left for `reflow apply`.",
        "",
        "Apply complete: 2 partitions built, 2 rows written (run #2, <elapsed>).",
        "2 other partitions of the plan outside this backfill: `reflow plan` lists them.",
        "",
      ].join("\n"),
    );
    expect(project.query("select command from runs where id = 2", ".reflow/state.db")).toEqual([
      { command: "backfill revenue --from 2024-01-03 --to 2024-01-05 --yes --as-of 2024-01-06" },
    ]);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("revenue", "failed", ["2024-01-02"]), ...tasks("revenue_total", "missing", ["*"])]);
  });

  it("--downstream also rebuilds what reads the backfilled partitions", () => {
    const stdout = ok(project.reflow("backfill", "revenue", "--from", "2024-01-02", "--to", "2024-01-02", "--downstream", "--yes", "--as-of", AS_OF));
    expect(stdout).toContain("\nPlan: 2 partitions to build in 2 datasets (1 missing, 1 failed); 2 changed directly.\n");
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([]);
  });

  it("--restate recomputes up-to-date partitions (reason restated); --json prints the plan and the result", () => {
    const result = project.reflow("backfill", "events", "--from", "2024-01-04", "--restate", "--json", "--yes", "--as-of", AS_OF);
    expect(result.stderr).toBe("");
    const output = JSON.parse(result.stdout) as { plan: { tasks: unknown[] }; result: { status: string; succeeded: number; rowsWritten: number } };
    expect(output.plan.tasks).toEqual(tasks("events", "restated", ["2024-01-04", "2024-01-05"]));
    expect(output.result).toMatchObject({ status: "succeeded", succeeded: 2, unchanged: 0, rowsWritten: 7 });
    // The readers of the restated days are now behind; `apply` (or --downstream) catches them up.
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([
      ...tasks("active_users", "upstream-changed", ["2024-01-04", "2024-01-05"]),
      ...tasks("revenue", "upstream-changed", ["2024-01-04", "2024-01-05"]),
      ...tasks("revenue_total", "upstream-changed", ["*"]),
    ]);
  });

  it("refuses an unknown dataset, a malformed or reversed range, and --json without --yes, changing nothing", () => {
    const before = project.storageDigest();
    expect(project.reflow("backfill", "payments", "--yes").stderr).toBe(
      'error REFLOW_UNKNOWN_DATASET: no dataset named "payments" is declared (declared: events, active_users, revenue, revenue_total)\n',
    );
    expect(project.reflow("backfill", "revenue", "--from", "2024-1-3", "--yes").stderr).toBe(
      'error REFLOW_INVALID_ARGUMENT: --from: "2024-1-3" is not a partition key of revenue (daily: YYYY-MM-DD)\n',
    );
    expect(project.reflow("backfill", "revenue", "--from", "2024-01-04", "--to", "2024-01-02", "--yes").stderr).toBe(
      "error REFLOW_INVALID_ARGUMENT: --from 2024-01-04 is after --to 2024-01-02\n",
    );
    expect(project.reflow("backfill", "revenue", "--from", "2023-01-01", "--to", "2023-01-31", "--yes", "--as-of", AS_OF).stderr).toBe(
      'error REFLOW_INVALID_ARGUMENT: dataset "revenue" has no partitions in 2023-01-01 … 2023-01-31 as of 2024-01-06T00:00:00.000Z (it has 2024-01-01 … 2024-01-05)\n',
    );
    expect(project.reflow("backfill", "revenue_total", "--from", "2024-01-01", "--yes").stderr).toBe(
      'error REFLOW_INVALID_ARGUMENT: dataset "revenue_total" is unpartitioned: --from and --to do not apply\n',
    );
    expect(project.reflow("backfill", "revenue", "--json").stderr).toBe("error REFLOW_CONFIRMATION_REQUIRED: backfill --json prints JSON, not a question: add --yes\n");
    expect(project.storageDigest()).toBe(before);
  });
});
