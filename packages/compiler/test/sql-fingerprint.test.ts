import { describe, expect, it } from "vitest";
import { z } from "zod";
import { daily, dataset, source, staticPartitions, type SqlContext } from "@reflow/core";
import { compileSqlText, fingerprintChanges } from "../src/index.js";

const payments = source("fp_payments", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ user_id: z.string(), amount_cents: z.number().int() }),
  read: () => [],
});
const schema = z.object({ day: z.string(), revenue_cents: z.number() });
const at = { file: "/p/pipelines/revenue.ts", line: 7 };

describe("the SQL a SQL transform is fingerprinted by", () => {
  it("is the query compiled for the scheme's first partition, with each input as its dataset's table", () => {
    const d = dataset("fp_revenue", {
      partitions: daily({ start: "2024-01-01" }),
      inputs: { payments },
      schema,
      sql: ({ db, inputs, partition }) =>
        db.selectFrom(inputs.payments).select((eb) => [eb.val(partition.key).as("day"), eb.fn.sum("amount_cents").as("revenue_cents")]).where("amount_cents", ">", 100),
    });
    expect(compileSqlText(d, at)).toEqual({
      sql: 'select * from (select ? as "day", sum("amount_cents") as "revenue_cents" from "fp_payments" as "payments" where "amount_cents" > ?) as "_reflow_sql"',
      parameters: ["2024-01-01", 100],
    });
  });

  it("is the same for code that builds the same query another way, and differs when a constant does", () => {
    const build = (name: string, sql: Parameters<typeof dataset>[1]["sql"]) => compileSqlText(dataset(name, { inputs: { payments }, schema, sql } as never), at);
    const a = build("fp_a", ({ db, inputs }) => db.selectFrom(inputs.payments as never).select(["user_id as day", "amount_cents as revenue_cents"] as never));
    const b = build("fp_b", ({ db, inputs }) => {
      const columns = ["user_id as day", "amount_cents as revenue_cents"];
      return db.selectFrom(inputs.payments as never).select(columns as never);
    });
    const c = build("fp_c", ({ db, inputs }) => db.selectFrom(inputs.payments as never).select(["user_id as day", "amount_cents as revenue_cents"] as never).limit(10));
    const d = build("fp_d", ({ db, inputs }) => db.selectFrom(inputs.payments as never).select(["user_id as day", "amount_cents as revenue_cents"] as never).limit(20));
    expect(b).toEqual(a);
    expect(c.sql).toBe(d.sql);
    expect(c.parameters).toEqual([10]);
    expect(d.parameters).toEqual([20]);
  });

  it("of a sql template is its text, with the inputs as tables; static partitions use their first key", () => {
    const d = dataset("fp_template", {
      partitions: staticPartitions(["eu", "us"]),
      inputs: { payments },
      schema,
      sql: ({ sql, inputs, partition }: SqlContext<any>) => sql`select ${partition.key} as day, sum(amount_cents) as revenue_cents from ${inputs.payments}`,
    } as never);
    expect(compileSqlText(d, at)).toEqual({
      sql: 'select * from (select ? as day, sum(amount_cents) as revenue_cents from "fp_payments" as "payments") as "_reflow_sql"',
      parameters: ["eu"],
    });
  });

  it("cannot be made when the function throws or returns something else, which fails compilation naming file and line", () => {
    const throws = dataset("fp_throws", { schema, sql: () => { throw new Error("boom"); } });
    expect(() => compileSqlText(throws, at)).toThrow('/p/pipelines/revenue.ts:7: dataset "fp_throws": sql threw while compiling its query for partition *: boom');
    const rows = dataset("fp_rows", { schema, sql: (() => [{ day: "x", revenue_cents: 1 }]) as never });
    expect(() => compileSqlText(rows, at)).toThrow('/p/pipelines/revenue.ts:7: dataset "fp_rows": sql must return a kysely query (db.selectFrom(…)) or a sql`…` template, got object');
  });
});

describe("a select that names its columns", () => {
  const columns = [
    { name: "day", type: "text", nullable: false, optional: false },
    { name: "revenue_cents", type: "real", nullable: false, optional: false },
    { name: "note", type: "text", nullable: false, optional: true },
  ] as const;
  const declare = (name: string, select: string[]) =>
    dataset(name, { inputs: { payments }, schema, sql: ({ db, inputs }: SqlContext<any>) => db.selectFrom(inputs.payments as never).select(select as never) } as never);

  it("is checked against the schema's columns at compile time (REFLOW_SCHEMA_MISMATCH)", () => {
    expect(() => compileSqlText(declare("fp_extra", ["user_id as day", "amount_cents as revenue_cents", "user_id"]), at, columns)).toThrow(
      '/p/pipelines/revenue.ts:7: dataset "fp_extra": sql selects column "user_id", which the schema does not have (it has day, revenue_cents, note)',
    );
    expect(() => compileSqlText(declare("fp_missing", ["user_id as day"]), at, columns)).toThrow(
      '/p/pipelines/revenue.ts:7: dataset "fp_missing": sql selects no column "revenue_cents" (it selects day)',
    );
    expect(compileSqlText(declare("fp_fits", ["user_id as day", "amount_cents as revenue_cents"]), at, columns).parameters).toEqual([]);
  });

  it("is left to the run-time check when it selects * or is a sql template", () => {
    const all = dataset("fp_all", { inputs: { payments }, schema, sql: ({ db, inputs }: SqlContext<any>) => db.selectFrom(inputs.payments as never).selectAll() } as never);
    expect(compileSqlText(all, at, columns).sql).toBe('select * from (select * from "fp_payments" as "payments") as "_reflow_sql"');
  });
});

describe("explaining a change to a SQL transform", () => {
  const manifest = (code: string, sql?: string) => ({
    code,
    ...(sql === undefined ? {} : { sql }),
    declarations: [],
    packages: [],
    version: 0,
    schema: "{}",
    partitions: "{}",
    inputs: "[]",
  });

  it("says its SQL changed, or that it became a SQL transform", () => {
    expect(fingerprintChanges(manifest("a", "select 1"), manifest("b", "select 2"), at)).toEqual([{ what: "its SQL changed", file: at.file, line: at.line }]);
    expect(fingerprintChanges(manifest("a"), manifest("b", "select 2"), at)).toEqual([{ what: "it is a SQL transform now", file: at.file, line: at.line }]);
    expect(fingerprintChanges(manifest("a", "select 1"), manifest("a", "select 1"), at)).toEqual([]);
  });
});
