import { afterAll, describe, expect, it } from "vitest";
import { noChanges, ok, planJson, rowsOf, tasks, withoutElapsed } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, DAYS, EVENTS_TS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

const APPLY = ["apply", "--yes", "--as-of", AS_OF];

/** Per user and day, what the fixture's events spent, computed in the warehouse. */
const SPEND_TS = `import { daily, dataset, unique } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";

export const spend = dataset("spend", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { events },
  schema: z.object({ day: z.string(), user_id: z.string(), cents: z.number().int() }),
  checks: [unique(["user_id"])],
  sql: ({ db, inputs, partition }) =>
    db
      .selectFrom(inputs.events)
      .select((eb) => [eb.val(partition.key).as("day"), "user_id", eb.fn.sum<number>("amount").as("cents")])
      .groupBy("user_id"),
});
`;

/** Every day of spend, per user: a plain sql template. */
const SPEND_TOTAL_TS = `import { dataset } from "@reflow/core";
import { z } from "zod";
import { spend } from "./spend.js";

export const spendTotal = dataset("spend_total", {
  inputs: { spend },
  schema: z.object({ user_id: z.string(), cents: z.number().int() }),
  sql: ({ sql, inputs }) => sql\`select user_id, sum(cents) as cents from \${inputs.spend} group by user_id\`,
});
`;

// events day d: alice 10·d and 1, bob d, carol 5 on even days.
const SPEND_ROWS = DAYS.flatMap((day) => {
  const d = Number(day.slice(8, 10));
  const rows = [
    { _partition: day, day, user_id: "alice", cents: 10 * d + 1 },
    { _partition: day, day, user_id: "bob", cents: d },
  ];
  if (d % 2 === 0) rows.push({ _partition: day, day, user_id: "carol", cents: 5 });
  return rows;
});
const SPEND_TOTAL_ROWS = [
  { _partition: "*", user_id: "alice", cents: 155 },
  { _partition: "*", user_id: "bob", cents: 15 },
  { _partition: "*", user_id: "carol", cents: 10 },
];

describe("SQL transforms run inside the warehouse", () => {
  const project = new TempProject({ "pipelines/events.ts": EVENTS_TS, "pipelines/spend.ts": SPEND_TS, "pipelines/spend-total.ts": SPEND_TOTAL_TS });
  afterAll(() => project.dispose());

  it("builds exactly the rows of the query over the input partitions each task reads", () => {
    const stdout = ok(project.reflow(...APPLY));
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 11 partitions built, 32 rows written \(run #1, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "spend")).toEqual(SPEND_ROWS);
    expect(rowsOf(project, "spend_total")).toEqual(SPEND_TOTAL_ROWS);
  });
});
