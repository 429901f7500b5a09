import { afterAll, describe, expect, it } from "vitest";
import { noChanges, ok, planJson, rowsOf, tasks, withoutElapsed } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, DAYS, fixtureFiles, REVENUE_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

const APPLY = ["apply", "--yes", "--as-of", AS_OF];
const liveTask = (project: TempProject, dataset: string, partition: string) =>
  project.query<{ status: string; live_task_id: number }>(
    `select status, live_task_id from partitions where dataset = '${dataset}' and partition = '${partition}'`,
    ".reflow/state.db",
  )[0];

describe("checks run before publishing", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("adding checks to a built dataset rebuilds nothing: a metadata-only change (checks are not part of the fingerprint)", () => {
    ok(project.reflow(...APPLY));
    project.edit("pipelines/revenue.ts", 'import { daily, dataset } from "@reflow/core";', 'import { daily, dataset, notNull, rowCount } from "@reflow/core";');
    project.edit(
      "pipelines/revenue.ts",
      "  transform: async",
      '  checks: [rowCount({ min: 1, max: 1 }), notNull(["day", "total"]), (rows) => (rows.some((r) => r.total < 0) ? "a negative total" : undefined)],\n  transform: async',
    );
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(
      [
        `Plan as of ${AS_OF_ISO}`,
        "",
        "Changed directly:",
        "  ~ revenue (modified): metadata only: recorded, nothing rebuilt (checks changed)",
        "",
        "Plan: 0 partitions to build in 0 datasets; 1 changed directly.",
        "",
      ].join("\n"),
    );
  });

  it("a failing check keeps the previous version live, fails the task with the check's message and blocks downstream", () => {
    project.edit(
      "pipelines/revenue.ts",
      "    return [{ day: partition.key, total: applyRate(total) }];",
      '    const rows = [{ day: partition.key, total: applyRate(total) }];\n    if (partition.key === "2024-01-03") rows.push({ day: partition.key, total: 0 });\n    return rows;',
    );
    const versionBefore = liveTask(project, "revenue", "2024-01-03")!.live_task_id;
    const result = project.reflow(...APPLY);
    expect(result.status).toBe(1);
    expect(withoutElapsed(result.stderr)).toBe(
      [
        "",
        "Apply failed: 4 built, 1 failed, 1 blocked (run #2, <elapsed>).",
        "Failed:",
        '  REFLOW_CHECK_FAILED: dataset "revenue" partition 2024-01-03: check rowCount(min: 1, max: 1) failed: 2 rows, expected at most 1',
        "Blocked (not run because an input failed):",
        "  revenue_total (unpartitioned): input revenue 2024-01-03 failed",
        "Nothing was published for these partitions: those built before keep their previous rows. Fix the cause, then run `reflow plan` and `reflow apply` again.",
        "",
      ].join("\n"),
    );
    // The other days were rebuilt with the same rows; 2024-01-03 still shows its previous version.
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(liveTask(project, "revenue", "2024-01-03")).toEqual({ status: "failed", live_task_id: versionBefore });
    expect(project.query("select count(*) as n from _reflow_versions where dataset = 'revenue' and state = 'writing'")).toEqual([{ n: 0 }]);
    expect(ok(project.reflow("status", "--as-of", AS_OF))).toContain(
      '\nFailed partitions:\n  REFLOW_CHECK_FAILED: dataset "revenue" partition 2024-01-03: check rowCount(min: 1, max: 1) failed: 2 rows, expected at most 1\n',
    );
  });

  it('severity "warn" publishes and reports; `reflow status` lists the warning while that version is live', () => {
    project.edit("pipelines/revenue.ts", "rowCount({ min: 1, max: 1 })", 'rowCount({ min: 1, max: 1, severity: "warn" })');
    // A metadata-only edit: only the failed partition and what it blocked are planned.
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("revenue", "failed", ["2024-01-03"]), ...tasks("revenue_total", "upstream-changed", ["*"])]);
    const result = project.reflow(...APPLY);
    expect(result.stderr).toBe("");
    expect(withoutElapsed(result.stdout)).toMatch(
      /\nApply complete: 2 partitions built, 3 rows written \(run #3, <elapsed>\)\.\nCheck warnings \(these partitions were published anyway\):\n {2}revenue 2024-01-03: check rowCount\(min: 1, max: 1\) failed: 2 rows, expected at most 1\n$/,
    );
    expect(rowsOf(project, "revenue").filter((r) => r._partition === "2024-01-03")).toEqual([
      { _partition: "2024-01-03", day: "2024-01-03", total: 0 },
      { _partition: "2024-01-03", day: "2024-01-03", total: 68 },
    ]);
    expect(ok(project.reflow("status", "--as-of", AS_OF))).toMatch(
      /\n\nCheck warnings on live partitions:\n {2}revenue 2024-01-03: check rowCount\(min: 1, max: 1\) failed: 2 rows, expected at most 1\n$/,
    );
  });

  it("custom checks: a message fails the task; a check that throws fails it too, naming the check", () => {
    project.edit("pipelines/revenue.ts", "total: applyRate(total) }];", "total: -applyRate(total) }];");
    const result = project.reflow(...APPLY);
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter((line) => line.startsWith("  REFLOW_"))).toEqual(
      DAYS.map((day) => `  REFLOW_CHECK_FAILED: dataset "revenue" partition ${day}: check checks[2] failed: a negative total`),
    );
    project.edit("pipelines/revenue.ts", '(rows) => (rows.some((r) => r.total < 0) ? "a negative total" : undefined)', 'check("no_negative_totals", () => { throw new Error("oops"); })');
    project.edit("pipelines/revenue.ts", "notNull, rowCount }", "check, notNull, rowCount }");
    const threw = project.reflow(...APPLY);
    expect(threw.stderr.split("\n").filter((line) => line.startsWith("  REFLOW_"))).toEqual(
      DAYS.map((day) => `  REFLOW_CHECK_FAILED: dataset "revenue" partition ${day}: check no_negative_totals failed: the check threw: oops`),
    );
    expect(rowsOf(project, "revenue").filter((r) => r._partition === "2024-01-01")).toEqual([REVENUE_ROWS[0]]);
  });
});

describe("maxChangeFromPrevious: the reprocessing sanity check", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("passes on the first build (nothing to compare with), fails a rebuild that moves the row count past the limit", () => {
    project.edit("pipelines/events.ts", 'import { daily, source } from "@reflow/core";', 'import { daily, maxChangeFromPrevious, source } from "@reflow/core";');
    project.edit("pipelines/events.ts", "  read: ({ partition }) => {", "  checks: [maxChangeFromPrevious({ rows: 0.2 })],\n  read: ({ partition }) => {");
    expect(withoutElapsed(ok(project.reflow(...APPLY)))).toMatch(/\nApply complete: 16 partitions built, 28 rows written \(run #1, <elapsed>\)\.\n$/);
    // Bob disappears from 2024-01-02 (4 rows → 3, -25%) and 2024-01-03 (3 → 2, -33.3%); other days are unchanged.
    project.edit("pipelines/events.ts", "      { user_id: \"bob\", amount: day },\n", "      ...(day === 2 || day === 3 ? [] : [{ user_id: \"bob\", amount: day }]),\n");
    const result = project.reflow(...APPLY);
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter((line) => line.startsWith("  REFLOW_"))).toEqual([
      '  REFLOW_CHECK_FAILED: dataset "events" partition 2024-01-02: check maxChangeFromPrevious(rows: 0.2) failed: 3 rows, the previous version had 4 (-25%, limit ±20%)',
      '  REFLOW_CHECK_FAILED: dataset "events" partition 2024-01-03: check maxChangeFromPrevious(rows: 0.2) failed: 2 rows, the previous version had 3 (-33.3%, limit ±20%)',
    ]);
    expect(project.query("select count(*) as n from events where _partition in ('2024-01-02', '2024-01-03')")).toEqual([{ n: 7 }]);
  });

  it("loosening the limit is not a code change: the failed partitions are retried and pass", () => {
    project.edit("pipelines/events.ts", "maxChangeFromPrevious({ rows: 0.2 })", "maxChangeFromPrevious({ rows: 0.5 })");
    expect(withoutElapsed(ok(project.reflow(...APPLY)))).toMatch(/\nApply complete: 7 partitions built, \d+ rows written \(run #3, <elapsed>\)\.\n$/);
    expect(project.query("select count(*) as n from events where _partition in ('2024-01-02', '2024-01-03')")).toEqual([{ n: 5 }]);
  });
});

describe("bad check declarations", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("a check that is not a check: REFLOW_INVALID_DECLARATION naming the file, line and dataset", () => {
    project.edit("pipelines/revenue.ts", "  transform: async", '  checks: ["rowCount"] as never,\n  transform: async');
    const result = project.reflow("plan", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'error REFLOW_INVALID_DECLARATION: pipelines/revenue.ts:6:24: dataset "revenue": checks[0] is not a check: use rowCount(), unique(), notNull(), maxChangeFromPrevious(), check(name, fn) or a function (got string)\n',
    );
  });
});
