import { afterAll, describe, expect, it } from "vitest";
import { ok, planJson, rowsOf, sortRows, tasks, withoutElapsed } from "../support/e2e.js";
import { ACTIVE_USERS_ROWS, AS_OF, AS_OF_ISO, DAYS, fixtureFiles, modelRevenue, REVENUE_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

// Two days later than AS_OF: 2024-01-06 and 07 are new.
const LATER = "2024-01-08";
const NEW_DAYS = ["2024-01-06", "2024-01-07"];
const STATE = ".reflow/state.db";

describe("forward-only changes", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());
  const acceptedRevenue = () =>
    project.query<{ partition: string; accepted: string | null }>("select partition, accepted_fingerprint as accepted from partitions where dataset = 'revenue' order by partition", STATE);

  it("refuses a flag naming a dataset whose code did not change, or no declared dataset, changing nothing", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
    const before = project.storageDigest();
    expect(project.reflow("apply", "--yes", "--as-of", LATER, "--forward-only", "active_users")).toEqual({
      status: 1,
      stdout: "",
      stderr:
        "error REFLOW_INVALID_ARGUMENT: --forward-only active_users: the code of active_users did not change since it was last applied, so there is nothing to reprocess; nothing was changed\n",
    });
    expect(project.reflow("apply", "--yes", "--as-of", LATER, "--non-breaking", "revenu")).toEqual({
      status: 1,
      stdout: "",
      stderr: 'error REFLOW_UNKNOWN_DATASET: no dataset named "revenu" is declared (declared: events, active_users, revenue, revenue_total)\n',
    });
    expect(project.storageDigest()).toBe(before);
  });

  it("--from rebuilds from that key on, and the plan warns that two logic versions will be live", () => {
    const plan = planJson(project, "--as-of", LATER, "--forward-only", "revenue", "--from", "2024-01-04");
    expect(plan.datasets.find((d) => d.name === "revenue")).toEqual({
      name: "revenue",
      change: "modified",
      category: "forward-only",
      why: "forward-only (--forward-only, from 2024-01-04): 3 built partitions keep their old logic",
    });
    expect(plan.tasks).toEqual([
      ...tasks("events", "missing", NEW_DAYS),
      ...tasks("active_users", "missing", NEW_DAYS),
      ...tasks("revenue", "code-changed", ["2024-01-04", "2024-01-05"]),
      ...tasks("revenue", "missing", NEW_DAYS),
      ...tasks("revenue_total", "upstream-changed", ["*"]),
    ]);
    expect(plan.warnings?.map((w) => w.message)).toEqual(["warning: revenue will have 2 logic versions live: 2024-01-01…2024-01-03 (code of run 1), 2024-01-04… (this plan)"]);
  });

  it("a saved forward-only plan applies exactly: old partitions keep their version, new ones use the new code, and later plans leave them alone", () => {
    const shown = ok(project.reflow("plan", "--as-of", LATER, "--forward-only", "revenue", "--out", "forward.json"));
    expect(shown).toContain("\n  ~ revenue (modified): forward-only (--forward-only): 5 built partitions keep their old logic\n");
    expect(shown).toContain(
      "\nPlan: 7 partitions to build in 4 datasets (6 missing, 1 upstream-changed); 1 changed directly.\n\nwarning: revenue will have 2 logic versions live: 2024-01-01…2024-01-05 (code of run 1), 2024-01-06… (this plan)\n",
    );
    ok(project.reflow("plan", "--as-of", LATER, "--out", "breaking.json"));
    expect(withoutElapsed(ok(project.reflow("apply", "forward.json")))).toMatch(/\nApply complete: 7 partitions built, 12 rows written \(run #2, <elapsed>\)\.\n$/);

    expect(rowsOf(project, "revenue")).toEqual(
      sortRows([...REVENUE_ROWS, ...[6, 7].map((d) => ({ _partition: `2024-01-0${d}`, day: `2024-01-0${d}`, total: modelRevenue(d, 3) }))]),
    );
    const [recorded] = project.query<{ fingerprint: string }>("select fingerprint from datasets where name = 'revenue'", STATE);
    expect(acceptedRevenue()).toEqual([...DAYS.map((partition) => ({ partition, accepted: recorded!.fingerprint })), ...NEW_DAYS.map((partition) => ({ partition, accepted: null }))]);
    expect(ok(project.reflow("plan", "--as-of", LATER))).toBe(`No changes. 4 datasets up to date as of 2024-01-08T00:00:00.000Z.\n`);
    expect(ok(project.reflow("explain", "revenue", "2024-01-02", "--as-of", LATER))).toBe(
      "revenue 2024-01-02 is up to date (built by run #1 with older code, kept by a forward-only change): it is not in the plan.\n",
    );
    expect(ok(project.reflow("status", "--as-of", LATER))).toMatch(/\n {4}[0-9a-f]{8} \(current code\): 2 partitions \(2024-01-06 … 2024-01-07\)\n {4}[0-9a-f]{8} \(kept by a forward-only change\): 5 partitions \(2024-01-01 … 2024-01-05\)\n$/);
  });

  it("a plan saved before another apply is refused as stale, changing nothing", () => {
    const before = project.storageDigest();
    const stale = project.reflow("apply", "breaking.json");
    expect(stale.status).toBe(1);
    expect(stale.stderr).toBe(
      "error REFLOW_PLAN_STALE: breaking.json can no longer be applied: the state changed since the plan was made (another apply ran); nothing was applied. Run `reflow plan --out` again\n",
    );
    expect(project.storageDigest()).toBe(before);
  });
});

describe("non-breaking and metadata-only changes", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());
  const liveVersions = (dataset: string) => project.query(`select partition, live_task_id from partitions where dataset = '${dataset}' order by partition`, STATE);

  it("adding an optional field no reader references is non-breaking (auto): the source is rebuilt, its readers only record the new versions", () => {
    // The raw rows carry `channel` from the start; the schema dropped it until now.
    project.edit("pipelines/events.ts", '{ user_id: "alice", amount: 1 },', '{ user_id: "alice", amount: 1, channel: "web" },');
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    const readersBefore = [liveVersions("active_users"), liveVersions("revenue"), liveVersions("revenue_total")];
    project.edit("pipelines/events.ts", "amount: z.number().int() })", "amount: z.number().int(), channel: z.string().optional() })");

    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: [
        { name: "events", change: "modified", category: "non-breaking", why: "non-breaking (auto: adds optional column `channel`; no reader references it)" },
        { name: "active_users", change: "unchanged" },
        { name: "revenue", change: "unchanged" },
        { name: "revenue_total", change: "unchanged" },
      ],
      tasks: tasks("events", "code-changed", DAYS),
      kept: [...DAYS.map((partition) => ({ dataset: "active_users", partition })), ...DAYS.map((partition) => ({ dataset: "revenue", partition }))],
      summary: { tasks: 5, datasets: 1, kept: 10 },
    });
    expect(ok(project.reflow("explain", "revenue", "2024-01-03", "--as-of", AS_OF))).toBe(
      [
        "revenue 2024-01-03 is in the plan but not rebuilt: what it reads changes only by a non-breaking change, so its live version stays and apply records the new input versions",
        "  ← events 2024-01-03: code-changed",
        "  ← its schema changed",
        "",
      ].join("\n"),
    );
    const applied = withoutElapsed(ok(project.reflow("apply", "--yes", "--as-of", AS_OF)));
    expect(applied).toContain(
      [
        "Changed directly:",
        "  ~ events (modified): non-breaking (auto: adds optional column `channel`; no reader references it)",
        "Not rebuilt (what they read changes only by a non-breaking change; apply records the new input versions):",
        "  = active_users (reads events): 5 partitions",
        "  = revenue (reads events): 5 partitions",
        "",
        "Partitions to build:",
        "  events: 2024-01-01 … 2024-01-05 (5 partitions) code-changed",
        "",
        "Plan: 5 partitions to build in 1 dataset (5 code-changed); 1 changed directly; 10 partitions not rebuilt (non-breaking change upstream).",
        "",
        "Apply complete: 5 partitions built, 17 rows written; 10 not rebuilt: what they read changed only by a non-breaking change (run #2, <elapsed>).",
      ].join("\n"),
    );
    expect(project.query("select channel, count(*) as n from events group by channel order by channel")).toEqual([
      { channel: null, n: 12 },
      { channel: "web", n: 5 },
    ]);
    expect([liveVersions("active_users"), liveVersions("revenue"), liveVersions("revenue_total")]).toEqual(readersBefore);
    expect(rowsOf(project, "active_users")).toEqual(sortRows(ACTIVE_USERS_ROWS));
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(`No changes. 4 datasets up to date as of ${AS_OF_ISO}.\n`);
  });

  it("a field a reader references makes the same kind of change breaking, and the plan says which reader", () => {
    project.edit("pipelines/events.ts", "channel: z.string().optional() })", "channel: z.string().optional(), region: z.string().optional() })");
    project.edit("pipelines/revenue.ts", "total += event.amount;", 'total += event.region === "eu" ? 0 : event.amount;');
    const plan = planJson(project, "--as-of", AS_OF);
    expect(plan.datasets.find((d) => d.name === "events")!.why).toBe("breaking (default; adds optional column `region`, but revenue references `region`)");
    expect(plan.summary).toEqual({ tasks: 16, datasets: 4 });
    project.edit("pipelines/revenue.ts", 'total += event.region === "eu" ? 0 : event.amount;', "total += event.amount;");
    project.edit("pipelines/events.ts", "channel: z.string().optional(), region: z.string().optional() })", "channel: z.string().optional() })");
  });

  it("editing only description, owner, tags or a check threshold rebuilds nothing; apply records the metadata", () => {
    project.edit("pipelines/revenue.ts", "  partitions: daily", '  description: "Revenue per day",\n  owner: "finance",\n  tags: ["kpi"],\n  checks: [rowCount({ min: 1 })],\n  partitions: daily');
    project.edit("pipelines/revenue.ts", "import { daily, dataset }", "import { daily, dataset, rowCount }");
    const line = "  ~ revenue (modified): metadata only: recorded, nothing rebuilt (description, owner, tags, checks changed)";
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(
      [`Plan as of ${AS_OF_ISO}`, "", "Changed directly:", line, "", "Plan: 0 partitions to build in 0 datasets; 1 changed directly.", ""].join("\n"),
    );
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(project.query("select metadata from datasets where name = 'revenue'", STATE)).toEqual([
      { metadata: '{"description":"Revenue per day","owner":"finance","tags":["kpi"],"checks":["rowCount(min: 1)"]}' },
    ]);
    project.edit("pipelines/revenue.ts", "rowCount({ min: 1 })", "rowCount({ min: 2 })");
    expect(planJson(project, "--as-of", AS_OF).datasets.find((d) => d.name === "revenue")!.why).toBe("metadata only: recorded, nothing rebuilt (checks changed)");
  });

  it('reprocess: "forward-only" on the dataset makes a code change forward-only without a flag', () => {
    project.edit("pipelines/revenue.ts", '  tags: ["kpi"],', '  tags: ["kpi"],\n  reprocess: "forward-only",');
    project.edit("pipelines/revenue.ts", "total: applyRate(total)", "total: applyRate(total) + 1");
    const plan = planJson(project, "--as-of", AS_OF);
    expect(plan.datasets.find((d) => d.name === "revenue")!.why).toBe('forward-only (reprocess: "forward-only"): 5 built partitions keep their old logic');
    expect(plan.tasks).toEqual([]);
    expect(plan.accepted).toEqual([{ dataset: "revenue", partitions: 5 }]);
  });
});
