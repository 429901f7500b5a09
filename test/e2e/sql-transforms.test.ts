import { afterAll, describe, expect, it } from "vitest";
import { noChanges, ok, planJson, rowsOf, tasks, withoutElapsed } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, DAYS, EVENTS_TS } from "../support/fixture.js";
import { TempProject, TEST_BACKEND } from "../support/temp-project.js";

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

describe("a SQL transform with kysely's own sql tag, imported by the pipeline", () => {
  // The CLI has kysely compiled in; the pipeline's import is kysely's package: two instances in one query.
  const project = new TempProject({
    "pipelines/events.ts": EVENTS_TS,
    "pipelines/spend.ts": SPEND_TS.replace('import { z } from "zod";', 'import { sql } from "kysely";\nimport { z } from "zod";').replace(
      '.groupBy("user_id")',
      '.where(sql<boolean>`amount > ${0}`)\n      .groupBy(sql.ref("user_id"))',
    ),
  });
  afterAll(() => project.dispose());

  it("builds the same rows", () => {
    ok(project.reflow(...APPLY));
    expect(rowsOf(project, "spend")).toEqual(SPEND_ROWS);
  });
});

describe("SQL transforms run inside the warehouse", () => {
  const project = new TempProject({ "pipelines/events.ts": EVENTS_TS, "pipelines/spend.ts": SPEND_TS, "pipelines/spend-total.ts": SPEND_TOTAL_TS });
  afterAll(() => project.dispose());

  it("builds exactly the rows of the query over the input partitions each task reads", () => {
    const stdout = ok(project.reflow(...APPLY));
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 11 partitions built, 32 rows written \(run #1, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "spend")).toEqual(SPEND_ROWS);
    expect(rowsOf(project, "spend_total")).toEqual(SPEND_TOTAL_ROWS);
  });

  it("an edit that compiles to the same SQL is not a change", () => {
    // (A sql template's text is its SQL, whitespace included.)
    project.edit("pipelines/spend.ts", '.groupBy("user_id")', '.groupBy(["user_id"])');
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(3, AS_OF_ISO));
  });

  it("a SQL change whose output is the same rebuilds that dataset only: its readers are cut off early", () => {
    project.edit("pipelines/spend.ts", '.groupBy(["user_id"])', '.where("amount", ">", 0)\n      .groupBy(["user_id"])');
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("spend", "code-changed", DAYS), ...tasks("spend_total", "upstream-changed", ["*"])]);
    expect(withoutElapsed(ok(project.reflow(...APPLY)))).toMatch(
      /\nApply complete: 5 partitions built, 12 rows written; 1 left as it was: what it reads came out unchanged \(run #2, <elapsed>\)\.\n$/,
    );
    expect(rowsOf(project, "spend")).toEqual(SPEND_ROWS);
  });

  it("a result column the schema lacks (at compile time when the select names it) or a value of the wrong type fails, naming file, line and column; nothing is kept", () => {
    const versions = () => project.query("select dataset, partition, version, state from _reflow_versions order by version");
    const before = versions();
    // A select that names its columns is checked when the project compiles, before state or warehouse are opened.
    const storage = project.storageDigest();
    project.edit("pipelines/spend.ts", '.as("cents")', '.as("cent")');
    const misspelt = project.reflow(...APPLY);
    expect(misspelt.status).not.toBe(0);
    expect(misspelt.stderr).toContain(
      'REFLOW_SCHEMA_MISMATCH: pipelines/spend.ts:10: dataset "spend": sql selects column "cent", which the schema does not have (it has day, user_id, cents)',
    );
    expect(project.storageDigest()).toBe(storage);
    project.edit("pipelines/spend.ts", '.as("cent")', '.as("cents")');
    project.edit("pipelines/spend-total.ts", "sum(cents) as cents", "sum(cents) as total");
    const renamed = project.reflow(...APPLY);
    expect(renamed.status).toBe(1);
    expect(renamed.stderr).toContain(
      '\n  REFLOW_SCHEMA_MISMATCH: dataset "spend_total" partition *: sql at pipelines/spend-total.ts:8 returned rows that do not fit the schema: column "total" is not in the schema (it has user_id, cents)\n',
    );
    project.edit("pipelines/spend-total.ts", "sum(cents) as total", "sum(cents) * 1.5 as cents");
    const retyped = project.reflow(...APPLY);
    expect(retyped.status).toBe(1);
    // The example is the first bad value SQLite meets, and the smallest on PostgreSQL (found in the same aggregate that counts them).
    const example = TEST_BACKEND === "postgres" ? "22.5" : "232.5";
    expect(retyped.stderr).toContain(
      `\n  REFLOW_SCHEMA_MISMATCH: dataset "spend_total" partition *: sql at pipelines/spend-total.ts:8 returned rows that do not fit the schema: column "cents": 2 rows hold values that are not integers (first: ${example})\n`,
    );
    expect(versions()).toEqual(before);
    expect(rowsOf(project, "spend_total")).toEqual(SPEND_TOTAL_ROWS);
  });

  it("checks run as queries in the warehouse (custom ones over the rows read back) and keep the previous version live when they fail", () => {
    project.edit("pipelines/spend-total.ts", "sum(cents) * 1.5 as cents", "sum(cents) as cents");
    project.edit(
      "pipelines/spend.ts",
      'checks: [unique(["user_id"])]',
      'checks: [unique(["user_id"]), rowCount({ max: 3 }), notNull(["day"]), (rows) => (rows.some((r) => r.user_id === "carol") ? "carol is here" : undefined)]',
    );
    project.edit("pipelines/spend.ts", "import { daily, dataset, unique }", "import { daily, dataset, notNull, rowCount, unique }");
    project.edit("pipelines/spend.ts", '.groupBy(["user_id"])', '.groupBy(["user_id", "amount"])');
    const result = project.reflow(...APPLY);
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter((line) => line.startsWith("  REFLOW_"))).toEqual(
      DAYS.map((day) => {
        const d = Number(day.slice(8, 10));
        // The custom check (no SQL form) is fed the version's rows read back.
        const rowCount = d % 2 === 0 ? "; check rowCount(max: 3) failed: 4 rows, expected at most 3; check checks[3] failed: carol is here" : "";
        return `  REFLOW_CHECK_FAILED: dataset "spend" partition ${day}: check unique(user_id) failed: 1 row repeat a key already seen, first user_id="alice" (2 rows)${rowCount}`;
      }),
    );
    expect(rowsOf(project, "spend")).toEqual(SPEND_ROWS);
    expect(project.query("select count(*) as n from _reflow_versions where dataset = 'spend' and state in ('writing', 'written')")).toEqual([{ n: 0 }]);
  });
});
