import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { januaryDays, noChanges, ok, rowsOf, sortRows, withoutElapsed } from "../support/e2e.js";
import { fixtureFiles, modelRevenue } from "../support/fixture.js";
import { REPO_ROOT, TempProject, type CliResult } from "../support/temp-project.js";

/*
 * The fixture over 20 days, with `read` and revenue's `transform` made async
 * and finishing after a delay that varies by day, so that with several
 * partitions in flight they complete out of order. Built once with
 * --concurrency 1 and once with --concurrency 4: the warehouses must be identical.
 */
const AS_OF = "2024-01-21";
const AS_OF_ISO = "2024-01-21T00:00:00.000Z";
const DAYS = januaryDays(1, 20);

function delayedProject(): TempProject {
  const project = new TempProject(fixtureFiles());
  const delay = "    await new Promise((resolve) => setTimeout(resolve, (Number(partition.key.slice(8, 10)) * 7) % 20));\n";
  project.edit("pipelines/events.ts", "  read: ({ partition }) => {\n", `  read: async ({ partition }) => {\n${delay}`);
  project.edit("pipelines/revenue.ts", "    let total = 0;\n", `${delay}    let total = 0;\n`);
  return project;
}

const serial = delayedProject();
const parallel = delayedProject();
const runs: Record<string, CliResult> = {};

beforeAll(() => {
  runs.serial = serial.reflow("apply", "--yes", "--concurrency", "1", "--as-of", AS_OF);
  runs.parallel = parallel.reflow("apply", "--yes", "--concurrency", "4", "--as-of", AS_OF);
});
afterAll(() => {
  serial.dispose();
  parallel.dispose();
});

// 20 days: events 3 rows a day plus carol on the 10 even days; one row a day in
// active_users and revenue; one summary row.
const COMPLETE = /\nApply complete: 61 partitions built, 111 rows written \(run #1, <elapsed>\)\.\n$/;

describe("apply with --concurrency 1 and with --concurrency 4", () => {
  it.each(["serial", "parallel"])("%s: builds all 61 partitions", (name) => {
    expect(runs[name]!.stderr).toBe("");
    expect(runs[name]!.status).toBe(0);
    expect(withoutElapsed(runs[name]!.stdout)).toMatch(COMPLETE);
  });

  it.each(["events", "active_users", "revenue", "revenue_total"])("%s: both warehouses hold the same rows", (dataset) => {
    expect(rowsOf(parallel, dataset)).toEqual(rowsOf(serial, dataset));
  });

  it("and those rows are the right ones", () => {
    const day = (key: string) => Number(key.slice(8, 10));
    expect(rowsOf(parallel, "revenue")).toEqual(sortRows(DAYS.map((key) => ({ _partition: key, day: key, total: modelRevenue(day(key)) }))));
    expect(rowsOf(parallel, "active_users")).toEqual(
      sortRows(
        DAYS.map((key) =>
          day(key) % 2 === 0
            ? { _partition: key, day: key, users: 3, names: "ALICE,BOB,CAROL" }
            : { _partition: key, day: key, users: 2, names: "ALICE,BOB" },
        ),
      ),
    );
    expect(parallel.query<{ n: number }>("select count(*) as n from events")).toEqual([{ n: 70 }]);
    expect(rowsOf(parallel, "revenue_total")).toEqual([
      {
        _partition: "*",
        days: 20,
        total: DAYS.reduce((sum, key) => sum + modelRevenue(day(key)), 0),
        first_day: "2024-01-01",
        last_day: "2024-01-20",
        read: DAYS.join(","),
      },
    ]);
  });

  it("parallel: nothing is left to plan afterwards (state recorded every input version)", () => {
    expect(ok(parallel.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });
});

describe("a second apply that runs while the first is waiting for confirmation", () => {
  /*
   * The first apply plans and asks; while it waits, another process applies
   * everything. Confirming must not build a second time on the now-stale plan.
   */
  const RACE = `import { execFileSync } from "node:child_process";
import { applyProject } from "@reflow/api";
const cli = process.argv[2]!;
try {
  await applyProject({
    asOf: new Date("${AS_OF_ISO}"),
    confirm: async () => {
      execFileSync(process.execPath, [cli, "apply", "--yes", "--as-of", "${AS_OF}"], { stdio: "ignore" });
      return true;
    },
  });
  console.log("applied");
} catch (error) {
  console.log(\`\${(error as { code?: string }).code}: \${(error as Error).message}\`);
}
`;
  const project = new TempProject({ ...fixtureFiles(), "race.ts": RACE });
  afterAll(() => project.dispose());

  it("refuses with REFLOW_STATE_CHANGED and the other apply's work stands alone", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "race.ts", path.join(REPO_ROOT, "cli/bin/reflow.js")], {
      cwd: project.dir,
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(
      "REFLOW_STATE_CHANGED: the state changed while the plan was shown (another apply ran?); nothing was applied. Run `reflow plan` again\n",
    );
    expect(project.query("select id, status from runs", ".reflow/state.db")).toEqual([{ id: 1, status: "succeeded" }]);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });
});
