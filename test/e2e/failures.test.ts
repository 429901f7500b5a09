import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locate, noChanges, ok, planJson, rowsOf, sortRows, tasks, withoutClock, withoutElapsed } from "../support/e2e.js";
import { ACTIVE_USERS_ROWS, AS_OF, EVENTS_ROWS, fixtureFiles, REVENUE_ROWS, REVENUE_TOTAL_ROWS, REVENUE_TS } from "../support/fixture.js";
import { TempProject, type CliResult } from "../support/temp-project.js";

/*
 * A good first build as of AS_OF (2024-01-01 … 05). Then revenue's transform
 * gets a new version that adds 1 to every total but throws on 2024-01-03, and
 * two new days arrive: apply as of 2024-01-08 (… 07). The tests run in order.
 */
const LATER = "2024-01-08";
const LATER_ISO = "2024-01-08T00:00:00.000Z";

const project = new TempProject(fixtureFiles());
let failedRun: CliResult;
let throwAt: string;

beforeAll(() => {
  ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
  project.edit("pipelines/revenue.ts", "export const revenue = dataset(", 'const BROKEN_DAY = "2024-01-03";\n\nexport const revenue = dataset(');
  project.edit("pipelines/revenue.ts", "    let total = 0;\n", '    if (partition.key === BROKEN_DAY) throw new Error("boom");\n    let total = 0;\n');
  project.edit("pipelines/revenue.ts", "total: applyRate(total) }", "total: applyRate(total) + 1 }");
  throwAt = locate(project, "pipelines/revenue.ts", 'new Error("boom")');
  failedRun = project.reflow("apply", "--yes", "--as-of", LATER);
});
afterAll(() => project.dispose());

const failure = () => `REFLOW_TRANSFORM_FAILED: dataset "revenue" partition 2024-01-03: transform threw at ${throwAt}: boom`;

const newDays = {
  events: [
    { _partition: "2024-01-06", user_id: "alice", amount: 60 },
    { _partition: "2024-01-06", user_id: "bob", amount: 6 },
    { _partition: "2024-01-06", user_id: "alice", amount: 1 },
    { _partition: "2024-01-06", user_id: "carol", amount: 5 },
    { _partition: "2024-01-07", user_id: "alice", amount: 70 },
    { _partition: "2024-01-07", user_id: "bob", amount: 7 },
    { _partition: "2024-01-07", user_id: "alice", amount: 1 },
  ],
  active_users: [
    { _partition: "2024-01-06", day: "2024-01-06", users: 3, names: "ALICE,BOB,CAROL" },
    { _partition: "2024-01-07", day: "2024-01-07", users: 2, names: "ALICE,BOB" },
  ],
};

describe("a transform that throws on one partition", () => {
  it("apply exits 1; stderr names the failed partition (dataset, partition, file:line:column of the throw, error) and the blocked reader", () => {
    expect(failedRun.status).toBe(1);
    expect(withoutElapsed(failedRun.stderr)).toBe(
      [
        "",
        "Apply failed: 10 built, 1 failed, 1 blocked (run #2, <elapsed>).",
        "Failed:",
        `  ${failure()}`,
        "Blocked (not run because an input failed):",
        "  revenue_total (unpartitioned): input revenue 2024-01-03 failed",
        "Nothing was published for these partitions: those built before keep their previous rows. Fix the cause, then run `reflow plan` and `reflow apply` again.",
        "",
      ].join("\n"),
    );
  });

  it("builds the other partitions of that dataset, and the other datasets' new days", () => {
    expect(rowsOf(project, "events")).toEqual(sortRows([...EVENTS_ROWS, ...newDays.events]));
    expect(rowsOf(project, "active_users")).toEqual(sortRows([...ACTIVE_USERS_ROWS, ...newDays.active_users]));
    expect(rowsOf(project, "revenue")).toEqual(
      sortRows([
        { _partition: "2024-01-01", day: "2024-01-01", total: 25 },
        { _partition: "2024-01-02", day: "2024-01-02", total: 57 },
        { _partition: "2024-01-03", day: "2024-01-03", total: 68 }, // the failed partition: its previous row
        { _partition: "2024-01-04", day: "2024-01-04", total: 101 },
        { _partition: "2024-01-05", day: "2024-01-05", total: 113 },
        { _partition: "2024-01-06", day: "2024-01-06", total: 145 },
        { _partition: "2024-01-07", day: "2024-01-07", total: 157 },
      ]),
    );
  });

  it("keeps the failed partition's previous rows live, and the blocked summary's previous row", () => {
    expect(project.query("select * from revenue where _partition = '2024-01-03'")).toEqual([REVENUE_ROWS[2]]);
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
  });

  it("the next plan --json lists the failed partition (failed) and its reader (upstream-changed), nothing else", () => {
    expect(planJson(project, "--as-of", LATER)).toEqual({
      asOf: LATER_ISO,
      datasets: [
        { name: "events", change: "unchanged" },
        { name: "active_users", change: "unchanged" },
        { name: "revenue", change: "modified", category: "breaking", why: "breaking (default)" },
        { name: "revenue_total", change: "unchanged" },
      ],
      tasks: [...tasks("revenue", "failed", ["2024-01-03"]), ...tasks("revenue_total", "upstream-changed", ["*"])],
      summary: { tasks: 2, datasets: 2 },
    });
  });

  it("the next human plan shows the single failed partition", () => {
    expect(project.reflow("plan", "--as-of", LATER)).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        `Plan as of ${LATER_ISO}`,
        "",
        "Changed directly:",
        "  ~ revenue (modified): breaking (default)",
        "Affected downstream (rebuilt unless what they read comes out unchanged):",
        "  ↳ revenue_total (reads revenue)",
        "",
        "Partitions to build:",
        "  revenue: 2024-01-03 (1 partition) failed",
        "  revenue_total: (unpartitioned) upstream-changed",
        "",
        "Plan: 2 partitions to build in 2 datasets (1 failed, 1 upstream-changed); 1 changed directly.",
        "",
      ].join("\n"),
    });
  });

  /** revenue's live fingerprints: the day that failed still has the old code's version. */
  const revenueFingerprints = () => {
    const fingerprintOf = (partition: string) =>
      project.query<{ fingerprint: string }>(
        `select t.fingerprint from partitions p join tasks t on t.id = p.live_task_id where p.dataset = 'revenue' and p.partition = '${partition}'`,
        ".reflow/state.db",
      )[0]!.fingerprint;
    return { current: fingerprintOf("2024-01-01"), old: fingerprintOf("2024-01-03") };
  };

  it("status shows the failure, with its error", () => {
    const status = project.reflow("status", "--as-of", LATER);
    expect(status.stderr).toBe("");
    expect(status.status).toBe(0);
    expect(withoutClock(status.stdout)).toBe(
      [
        "dataset        kind     partitions  built  outdated  failed  missing  last run",
        "events         source            7      7         0       0        0  #2 <time>: 2 built",
        "active_users   dataset           7      7         0       0        0  #2 <time>: 2 built",
        "revenue        dataset           7      7         0       1        0  #2 <time>: 6 built, 1 failed",
        "revenue_total  dataset           1      1         1       0        0  #2 <time>: 0 built, 1 blocked",
        "",
        "Failed partitions:",
        `  ${failure()}`,
        "",
        // The failed day keeps its rows from the code before the edit.
        "Mixed logic: live partitions built by different versions of the code (`reflow plan` lists what rebuilds them):",
        "  revenue:",
        `    ${revenueFingerprints().current.slice(0, 8)} (current code): 6 partitions (2024-01-01 … 2024-01-02, 2024-01-04 … 2024-01-07)`,
        `    ${revenueFingerprints().old.slice(0, 8)}: 1 partition (2024-01-03)`,
        "",
      ].join("\n"),
    );
  });

  it("status --json shows the failure, with its error", () => {
    const lastRun = (succeeded: number, failed: number, blocked: number) => ({
      id: 2,
      command: `apply --yes --as-of ${LATER}`,
      status: "failed",
      startedAt: "<time>",
      finishedAt: "<time>",
      tasks: { succeeded, unchanged: 0, failed, blocked },
    });
    const entry = (name: string, kind: string, partitions: number, run: ReturnType<typeof lastRun>, extra: object = {}) => ({
      name,
      kind,
      partitions,
      built: partitions,
      outdated: 0,
      failed: 0,
      missing: 0,
      failures: [],
      warnings: [],
      lastRun: run,
      ...extra,
    });
    expect(JSON.parse(withoutClock(ok(project.reflow("status", "--json", "--as-of", LATER))))).toEqual([
      entry("events", "source", 7, lastRun(2, 0, 0)),
      entry("active_users", "dataset", 7, lastRun(2, 0, 0)),
      entry("revenue", "dataset", 7, lastRun(6, 1, 0), {
        failed: 1,
        failures: [{ partition: "2024-01-03", error: failure() }],
        mixedLogic: [
          {
            fingerprint: revenueFingerprints().current,
            current: true,
            partitions: 6,
            ranges: [
              { first: "2024-01-01", last: "2024-01-02", count: 2 },
              { first: "2024-01-04", last: "2024-01-07", count: 4 },
            ],
          },
          { fingerprint: revenueFingerprints().old, current: false, partitions: 1, ranges: [{ first: "2024-01-03", last: "2024-01-03", count: 1 }] },
        ],
      }),
      entry("revenue_total", "dataset", 1, lastRun(0, 0, 1), { outdated: 1 }),
    ]);
  });

  it("after removing the throw, apply completes and the next plan is `No changes.`", () => {
    project.write("pipelines/revenue.ts", REVENUE_TS);
    // revenue is back to the code of the first build: the 6 partitions built by
    // the broken version are code-changed, 2024-01-03 is failed, the summary upstream-changed.
    const stdout = ok(project.reflow("apply", "--yes", "--as-of", LATER));
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 8 partitions built, 8 rows written \(run #3, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "revenue")).toEqual(
      sortRows([
        ...REVENUE_ROWS,
        { _partition: "2024-01-06", day: "2024-01-06", total: 144 },
        { _partition: "2024-01-07", day: "2024-01-07", total: 156 },
      ]),
    );
    expect(rowsOf(project, "revenue_total")).toEqual([
      {
        _partition: "*",
        days: 7,
        total: 660,
        first_day: "2024-01-01",
        last_day: "2024-01-07",
        read: "2024-01-01,2024-01-02,2024-01-03,2024-01-04,2024-01-05,2024-01-06,2024-01-07",
      },
    ]);
    expect(project.reflow("plan", "--as-of", LATER)).toEqual({ status: 0, stdout: noChanges(4, LATER_ISO), stderr: "" });
    const failed = (JSON.parse(ok(project.reflow("status", "--json", "--as-of", LATER))) as { name: string; failed: number; failures: unknown[] }[]).map(
      (s) => ({ name: s.name, failed: s.failed, failures: s.failures }),
    );
    expect(failed).toEqual(["events", "active_users", "revenue", "revenue_total"].map((name) => ({ name, failed: 0, failures: [] })));
  });
});
