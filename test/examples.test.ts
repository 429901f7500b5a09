import { cpSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, TempProject } from "./support/temp-project.js";

/** A copy of an example in a temp folder, so running it never writes into the repository. */
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
