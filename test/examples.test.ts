import { cpSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, TempProject } from "./support/temp-project.js";

/** A copy of an example's pipelines (`..`: the bundled ones) in a temp folder, so running it never writes into the repository. */
function copyOfExample(name: string): TempProject {
  const project = new TempProject();
  cpSync(path.join(REPO_ROOT, "examples", name, "pipelines"), path.join(project.dir, "pipelines"), { recursive: true });
  return project;
}

const planTasks = (project: TempProject, ...args: string[]) => {
  const result = project.reflow("plan", "--json", ...args);
  expect(result.stderr).toBe("");
  return (JSON.parse(result.stdout) as { tasks: { dataset: string; partition: string; reason: string }[] }).tasks;
};

const countBy = (tasks: { dataset: string; reason: string }[]) =>
  Object.fromEntries([...new Set(tasks.map((t) => `${t.dataset} ${t.reason}`))].map((k) => [k, tasks.filter((t) => `${t.dataset} ${t.reason}` === k).length]));

describe("examples/tax-bug", () => {
  const project = copyOfExample("tax-bug");
  afterAll(() => project.dispose());

  it("reprocesses exactly the datasets that call the fixed helper", () => {
    expect(project.reflow("apply", "--yes").status).toBe(0);
    expect(project.query("select * from net_revenue_total")).toEqual([{ _partition: "*", days: 182, net_cents: 8_663_646 }]);

    project.edit("pipelines/lib/tax.ts", "return `€${(cents / 100).toFixed(2)}`;", "return `EUR ${(cents / 100).toFixed(2)}`;");
    expect(project.reflow("plan").stdout).toMatch(/^No changes\./);

    project.edit("pipelines/lib/tax.ts", "Math.round(grossCents * (1 - rate))", "Math.round(grossCents / (1 + rate))");
    const tasks = planTasks(project);
    expect(countBy(tasks)).toEqual({ "net_revenue code-changed": 182, "net_revenue_total upstream-changed": 1 });
    expect(tasks[0]).toEqual({ dataset: "net_revenue", partition: "2024-01-01", reason: "code-changed" });
    expect(tasks[181]).toEqual({ dataset: "net_revenue", partition: "2024-06-30", reason: "code-changed" });

    expect(project.reflow("apply", "--yes").status).toBe(0);
    expect(project.query("select * from net_revenue where day = '2024-01-01'")).toEqual([
      { _partition: "2024-01-01", day: "2024-01-01", net_cents: Math.round(1190 / 1.19) + Math.round(2380 / 1.2) + Math.round(3570 / 1.21) },
    ]);
    expect(project.reflow("plan").stdout).toMatch(/^No changes\./);
  });
});

describe("examples/failed-week", () => {
  const project = copyOfExample("failed-week");
  afterAll(() => project.dispose());
  const outage = ["2024-02-05", "2024-02-06", "2024-02-07", "2024-02-08", "2024-02-09", "2024-02-10", "2024-02-11"];

  it("fails the outage week only, then fills exactly the hole", () => {
    process.env.CLICKS_OUTAGE = "1";
    const failedRun = project.reflow("apply", "--yes");
    delete process.env.CLICKS_OUTAGE;
    expect(failedRun.status).toBe(1);
    expect(failedRun.stderr).toContain("Apply failed: 44 built, 7 failed, 8 blocked");
    expect(failedRun.stderr).toContain(
      'REFLOW_TRANSFORM_FAILED: dataset "clicks" partition 2024-02-05: read threw at pipelines/clicks.ts:13:13: export for 2024-02-05 is not available (HTTP 503)',
    );
    expect(project.query<{ day: string }>("select day from clicks_per_day order by day").map((r) => r.day)).toEqual(
      Array.from({ length: 29 }, (_, i) => `2024-02-${String(i + 1).padStart(2, "0")}`).filter((d) => !outage.includes(d)),
    );

    expect(planTasks(project)).toEqual([
      ...outage.map((partition) => ({ dataset: "clicks", partition, reason: "failed" })),
      ...outage.map((partition) => ({ dataset: "clicks_per_day", partition, reason: "missing" })),
      { dataset: "month_clicks", partition: "*", reason: "missing" },
    ]);

    const fill = project.reflow("apply", "--yes");
    expect(fill.status).toBe(0);
    expect(fill.stdout).toContain("Apply complete: 15 partitions built");
    expect(project.query("select * from month_clicks")).toEqual([{ _partition: "*", days: 29, clicks: 4_580 }]);
  });
});

describe("the README walkthrough on the bundled pipelines/", () => {
  const project = copyOfExample("..");
  afterAll(() => project.dispose());
  const firstDays = "select day, active_users from active_users order by day limit 3";

  it("builds, ignores a formatting edit, repairs exactly the datasets that call isBot() and the summary after the bot fix", () => {
    const first = project.reflow("apply", "--yes");
    expect(first.stderr).toBe("");
    expect(first.stdout).toContain("  rolling_active_users: 2024-01-01 … 2024-03-30 (90 partitions) missing\n  weekly_revenue: 2024-W01 … 2024-W12 (12 partitions) missing\n");
    expect(first.stdout).toMatch(/\nApply complete: 373 partitions built, 18,185 rows written \(run #1, \d+\.\ds\)\.\n$/);
    expect(project.query(firstDays)).toEqual([
      { day: "2024-01-01", active_users: 78 },
      { day: "2024-01-02", active_users: 83 },
      { day: "2024-01-03", active_users: 82 },
    ]);

    project.edit("pipelines/lib/bots.ts", '  return userAgent.includes("bot");', '  // TODO: a real list\n  return userAgent.includes(\n    "bot",\n  );');
    expect(project.reflow("plan").stdout).toMatch(/^No changes\. 6 datasets up to date as of /);

    project.edit("pipelines/lib/bots.ts", '  // TODO: a real list\n  return userAgent.includes(\n    "bot",\n  );', "  return /bot|crawler|spider|headless/i.test(userAgent);");
    const tasks = planTasks(project);
    expect(countBy(tasks)).toEqual({ "active_users code-changed": 90, "active_users_summary upstream-changed": 1, "rolling_active_users code-changed": 90 });
    expect(tasks[0]).toEqual({ dataset: "active_users", partition: "2024-01-01", reason: "code-changed" });
    expect(tasks[89]).toEqual({ dataset: "active_users", partition: "2024-03-30", reason: "code-changed" });

    const repair = project.reflow("apply", "--yes");
    expect(repair.stdout).toMatch(/\nApply complete: 181 partitions built, 181 rows written \(run #2, \d+\.\ds\)\.\n$/);
    expect(project.query(firstDays)).toEqual([
      { day: "2024-01-01", active_users: 69 },
      { day: "2024-01-02", active_users: 73 },
      { day: "2024-01-03", active_users: 70 },
    ]);
    expect(project.reflow("plan").stdout).toMatch(/^No changes\. 6 datasets up to date as of /);
  });

  it("re-reading one day plans exactly that day, its week and the 7 windows that hold it", () => {
    const result = project.reflow("backfill", "events", "--from", "2024-01-17", "--to", "2024-01-17", "--restate", "--downstream", "--yes");
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(
      [
        "Partitions to build:",
        "  events: 2024-01-17 (1 partition) restated",
        "  active_users: 2024-01-17 (1 partition) upstream-changed",
        "  active_users_summary: (unpartitioned) upstream-changed",
        "  daily_revenue: 2024-01-17 (1 partition) upstream-changed",
        "  rolling_active_users: 2024-01-17 … 2024-01-23 (7 partitions) upstream-changed",
        "  weekly_revenue: 2024-W03 (1 partition) upstream-changed",
        "",
        "Plan: 12 partitions to build in 6 datasets (11 upstream-changed, 1 restated); 0 changed directly.",
      ].join("\n"),
    );
    // The day came back identical, so nothing that reads it had to change.
    expect(result.stdout).toMatch(/\nApply complete: 1 partition built, 232 rows written; 11 left as they were: what they read came out unchanged \(run #3, \d+\.\ds\)\.\n$/);
    expect(project.query("select week, days, payments, revenue_cents from weekly_revenue where week = '2024-W03'")).toEqual([{ week: "2024-W03", days: 7, payments: 94, revenue_cents: 518406 }]);
  });
});
