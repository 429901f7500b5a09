import { cpSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkpoint, discard, noChanges, ok, planJson, restore, rowsOf, sortRows, tasks, withoutElapsed, type Checkpoint, type PlanJson } from "../support/e2e.js";
import { ACTIVE_USERS_ROWS, ACTIVE_USERS_TS, AS_OF, AS_OF_ISO, DAYS, EVENTS_ROWS, fixtureFiles, REVENUE_ROWS, REVENUE_TOTAL_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

/*
 * One project, applied once as of AS_OF. Every test starts from that applied
 * state (restored in place from a checkpoint) and makes one kind of edit.
 */
const project = new TempProject(fixtureFiles());
let applied: Checkpoint | undefined;

beforeAll(() => {
  ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
  applied = checkpoint(project);
});
beforeEach(() => restore(project, applied!));
afterAll(() => {
  project.dispose();
  discard(applied);
});

const plan = () => project.reflow("plan", "--as-of", AS_OF);
const NO_CHANGES = { status: 0, stdout: noChanges(4, AS_OF_ISO), stderr: "" };

/** The plan after any change that reaches revenue's code: all of revenue, then the summary downstream. */
const REVENUE_CHANGED: PlanJson = {
  asOf: AS_OF_ISO,
  datasets: [
    { name: "events", change: "unchanged" },
    { name: "active_users", change: "unchanged" },
    { name: "revenue", change: "modified", category: "breaking", why: "breaking (default)" },
    { name: "revenue_total", change: "unchanged" },
  ],
  tasks: [...tasks("revenue", "code-changed", DAYS), ...tasks("revenue_total", "upstream-changed", ["*"])],
  summary: { tasks: 6, datasets: 2 },
};

describe("edits that change no behaviour", () => {
  it("comments and formatting in a transform's file: plan prints `No changes.`", () => {
    // Same code as REVENUE_TS; only comments, quotes, semicolons, trailing commas,
    // line breaks and redundant parentheses differ (and the declaration moves down 5 lines).
    project.write(
      "pipelines/revenue.ts",
      `import { daily, dataset } from '@reflow/core'
import { z } from 'zod'
import { events } from './events.js'
import { applyRate } from './lib/helpers.js'

/**
 * Revenue per day, in reporting units.
 * Reformatted; not a change.
 */
export const revenue = dataset('revenue', {
  partitions: daily({ start: '2024-01-01' }),
  inputs: { events },
  schema: z.object({
    day: z.string(),
    total: z.number().int(),
  }),
  transform: async ({ inputs, partition }) => {
    // Sum every payment of the day.
    let total = 0
    for (const event of await inputs.events.rows()) total += (event.amount)
    return [
      {
        day: partition.key,
        total: applyRate(total), // in reporting units
      },
    ]
  },
})
`,
    );
    expect(plan()).toEqual(NO_CHANGES);
  });

  it("comments and formatting in a helper file: plan prints `No changes.`", () => {
    project.write(
      "pipelines/lib/helpers.ts",
      `// Helpers shared by the transforms.
import { RATE } from './rates.js'

/**
 * Cents to reporting units.
 * Reformatted; not a change.
 */
export function applyRate(
  cents: number,
): number {
  return (cents * RATE) // multiply by the rate
}

/** User ids are shown upper-case. */
export function normalizeUser(id: string): string {
  return id.toUpperCase()
}

/** Not used by any transform. */
export function unusedHelper(value: number): number {
  return value + 1
}
`,
    );
    expect(plan()).toEqual(NO_CHANGES);
  });

  it("renaming a local variable inside a transform: plan prints `No changes.`", () => {
    project.edit("pipelines/revenue.ts", "let total = 0;", "let sum = 0;");
    project.edit("pipelines/revenue.ts", "total += event.amount;", "sum += event.amount;");
    project.edit("pipelines/revenue.ts", "applyRate(total)", "applyRate(sum)");
    expect(plan()).toEqual(NO_CHANGES);
  });

  it("editing a function no transform calls, in the same helper file: plan prints `No changes.`", () => {
    project.edit("pipelines/lib/helpers.ts", "return value + 1;", "return value + 2;");
    expect(plan()).toEqual(NO_CHANGES);
  });
});

describe("editing a helper used by one transform", () => {
  it("replans every partition of that dataset (code-changed) and its reader (upstream-changed), nothing else", () => {
    project.edit("pipelines/lib/helpers.ts", "return cents * RATE;", "return cents * RATE + 1;");
    expect(planJson(project, "--as-of", AS_OF)).toEqual(REVENUE_CHANGED);
  });

  it("after apply, the warehouse has the new values, other datasets are untouched, and nothing is left to do", () => {
    project.edit("pipelines/lib/helpers.ts", "return cents * RATE;", "return cents * RATE + 1;");
    const stdout = ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 6 partitions built, 6 rows written \(run #2, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "revenue")).toEqual(sortRows(REVENUE_ROWS.map((row) => ({ ...row, total: row.total + 1 }))));
    expect(rowsOf(project, "revenue_total")).toEqual([{ ...REVENUE_TOTAL_ROWS[0], total: 365 }]);
    expect(rowsOf(project, "active_users")).toEqual(sortRows(ACTIVE_USERS_ROWS));
    expect(rowsOf(project, "events")).toEqual(sortRows(EVENTS_ROWS));
    expect(plan()).toEqual(NO_CHANGES);
  });

  it("a constant the helper reads, in another file, counts too (transitively)", () => {
    project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
    expect(planJson(project, "--as-of", AS_OF)).toEqual(REVENUE_CHANGED);
  });

  it("the helper of a dataset nobody reads replans that dataset only", () => {
    project.edit("pipelines/lib/helpers.ts", "return id.toUpperCase();", "return id.toLowerCase();");
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: [
        { name: "events", change: "unchanged" },
        { name: "active_users", change: "modified", category: "breaking", why: "breaking (default)" },
        { name: "revenue", change: "unchanged" },
        { name: "revenue_total", change: "unchanged" },
      ],
      tasks: tasks("active_users", "code-changed", DAYS),
      summary: { tasks: 5, datasets: 1 },
    });
  });
});

describe("bumping `version`", () => {
  it("replans exactly like a code change: the dataset (code-changed) and its reader (upstream-changed)", () => {
    project.edit("pipelines/revenue.ts", "  inputs: { events },\n", "  inputs: { events },\n  version: 1,\n");
    expect(planJson(project, "--as-of", AS_OF)).toEqual(REVENUE_CHANGED);
  });

  it("after apply, the same rows are live and nothing is left to do; the reader is not rebuilt, its input came out the same (early cutoff)", () => {
    project.edit("pipelines/revenue.ts", "  inputs: { events },\n", "  inputs: { events },\n  version: 1,\n");
    const stdout = ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(withoutElapsed(stdout)).toMatch(
      /\nApply complete: 5 partitions built, 5 rows written; 1 left as it was: what it reads came out unchanged \(run #2, <elapsed>\)\.\n$/,
    );
    expect(project.query("select dataset, partition, status from tasks where run_id = 2 and dataset = 'revenue_total'", ".reflow/state.db")).toEqual([
      { dataset: "revenue_total", partition: "*", status: "unchanged" },
    ]);
    expect(rowsOf(project, "revenue")).toEqual(sortRows(REVENUE_ROWS));
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
    expect(plan()).toEqual(NO_CHANGES);
  });
});

describe("removing a dataset from the code", () => {
  it("plans it as removed with nothing to build; apply forgets it but keeps its data; declaring it again rebuilds nothing", () => {
    project.remove("pipelines/active-users.ts");
    const unchanged = (name: string) => ({ name, change: "unchanged" as const });
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: [unchanged("events"), unchanged("revenue"), unchanged("revenue_total"), { name: "active_users", change: "removed" }],
      tasks: [],
      summary: { tasks: 0, datasets: 0 },
    });
    const stdout = ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 0 partitions built, 0 rows written \(run #2, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "active_users")).toEqual(sortRows(ACTIVE_USERS_ROWS));

    project.write("pipelines/active-users.ts", ACTIVE_USERS_TS);
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: [unchanged("events"), { name: "active_users", change: "added" }, unchanged("revenue"), unchanged("revenue_total")],
      tasks: [],
      summary: { tasks: 0, datasets: 0 },
    });
  });
});

describe("moving the project", () => {
  it("a copy of an applied project in another folder plans `No changes.` (paths are not part of a fingerprint)", () => {
    const copy = new TempProject();
    try {
      for (const entry of ["pipelines", ".reflow"]) cpSync(path.join(project.dir, entry), path.join(copy.dir, entry), { recursive: true });
      expect(copy.reflow("plan", "--as-of", AS_OF)).toEqual(NO_CHANGES);
    } finally {
      copy.dispose();
    }
  });
});
