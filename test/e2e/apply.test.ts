import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planJson, noChanges, ok, rowsOf, sortRows, tasks, withoutElapsed } from "../support/e2e.js";
import {
  ACTIVE_USERS_ROWS,
  AS_OF,
  AS_OF_ISO,
  DATASETS,
  DAYS,
  EVENTS_ROWS,
  FIRST_APPLY_ROWS,
  FIRST_PLAN_TEXT,
  fixtureFiles,
  REVENUE_ROWS,
  REVENUE_TOTAL_ROWS,
} from "../support/fixture.js";
import { TempProject, type CliResult } from "../support/temp-project.js";

/*
 * One project for the whole file: the tests run in order and each builds on
 * the state the previous one left (first apply → apply again → a new day).
 */
const project = new TempProject(fixtureFiles());
let first: CliResult;

beforeAll(() => {
  first = project.reflow("apply", "--yes", "--as-of", AS_OF);
});
afterAll(() => project.dispose());

describe("the first apply --yes", () => {
  it("prints the plan, builds all 16 partitions and exits 0", () => {
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(withoutElapsed(first.stdout)).toBe(
      `${FIRST_PLAN_TEXT}\nApply complete: 16 partitions built, ${FIRST_APPLY_ROWS} rows written (run #1, <elapsed>).\n`,
    );
  });

  it("apply again prints only `No changes.`, exits 0 and writes nothing", () => {
    const before = project.storageDigest();
    const again = project.reflow("apply", "--yes", "--as-of", AS_OF);
    expect(again).toEqual({ status: 0, stdout: noChanges(4, AS_OF_ISO), stderr: "" });
    expect(project.storageDigest()).toBe(before);
  });

  it("leaves exactly the rows of every partition in the warehouse", () => {
    expect(rowsOf(project, "events")).toEqual(sortRows(EVENTS_ROWS));
    expect(rowsOf(project, "active_users")).toEqual(sortRows(ACTIVE_USERS_ROWS));
    expect(rowsOf(project, "revenue")).toEqual(sortRows(REVENUE_ROWS));
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
  });

  it("exposes each dataset as a view with `_partition` plus the schema's columns", () => {
    expect(project.views()).toEqual(["active_users", "events", "revenue", "revenue_total"]);
    expect(project.columns("events")).toEqual(["_partition", "user_id", "amount"]);
    expect(project.columns("active_users")).toEqual(["_partition", "day", "users", "names"]);
    expect(project.columns("revenue")).toEqual(["_partition", "day", "total"]);
    expect(project.columns("revenue_total")).toEqual(["_partition", "days", "total", "first_day", "last_day", "read"]);
  });

  it("leaves nothing to plan", () => {
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: DATASETS.map((name) => ({ name, change: "unchanged" })),
      tasks: [],
      summary: { tasks: 0, datasets: 0 },
    });
  });

  it("gives the unpartitioned summary every partition of its daily input", () => {
    // revenue_total's `read` column is inputs.revenue.partitions, joined.
    expect(rowsOf(project, "revenue_total")).toEqual([
      { _partition: "*", days: 5, total: 360, first_day: "2024-01-01", last_day: "2024-01-05", read: DAYS.join(",") },
    ]);
  });
});

describe("a new day (a later --as-of)", () => {
  const NEXT = "2024-01-07";
  const NEXT_ISO = "2024-01-07T00:00:00.000Z";

  it("plans the new day of each daily dataset, plus the summary, and nothing else", () => {
    expect(planJson(project, "--as-of", NEXT)).toEqual({
      asOf: NEXT_ISO,
      datasets: DATASETS.map((name) => ({ name, change: "unchanged" })),
      tasks: [
        ...tasks("events", "missing", ["2024-01-06"]),
        ...tasks("active_users", "missing", ["2024-01-06"]),
        ...tasks("revenue", "missing", ["2024-01-06"]),
        ...tasks("revenue_total", "upstream-changed", ["*"]),
      ],
      summary: { tasks: 4, datasets: 4 },
    });
  });

  it("apply builds those 4 partitions; the summary now covers six days", () => {
    const stdout = ok(project.reflow("apply", "--yes", "--as-of", NEXT));
    // events 2024-01-06 has 4 rows (an even day), then one row each.
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 4 partitions built, 7 rows written \(run #2, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "revenue")).toEqual(sortRows([...REVENUE_ROWS, { _partition: "2024-01-06", day: "2024-01-06", total: 144 }]));
    expect(rowsOf(project, "active_users")).toEqual(
      sortRows([...ACTIVE_USERS_ROWS, { _partition: "2024-01-06", day: "2024-01-06", users: 3, names: "ALICE,BOB,CAROL" }]),
    );
    expect(rowsOf(project, "events")).toEqual(
      sortRows([
        ...EVENTS_ROWS,
        { _partition: "2024-01-06", user_id: "alice", amount: 60 },
        { _partition: "2024-01-06", user_id: "bob", amount: 6 },
        { _partition: "2024-01-06", user_id: "alice", amount: 1 },
        { _partition: "2024-01-06", user_id: "carol", amount: 5 },
      ]),
    );
    expect(rowsOf(project, "revenue_total")).toEqual([
      { _partition: "*", days: 6, total: 504, first_day: "2024-01-01", last_day: "2024-01-06", read: [...DAYS, "2024-01-06"].join(",") },
    ]);
  });

  it("then has nothing left to do as of that day", () => {
    expect(project.reflow("plan", "--as-of", NEXT)).toEqual({ status: 0, stdout: noChanges(4, NEXT_ISO), stderr: "" });
  });
});
