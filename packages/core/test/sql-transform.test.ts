import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import { z } from "zod";
import { daily, dataset, isSqlQuery, source } from "../src/index.js";

const payments = source("sql_payments", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ user_id: z.string(), amount_cents: z.number().int() }),
  read: () => [],
});
const schema = z.object({ day: z.string(), revenue_cents: z.number().int() });

describe("SQL datasets", () => {
  it("are declared with sql instead of transform", () => {
    const d = dataset("sql_daily_revenue", {
      partitions: daily({ start: "2024-01-01" }),
      inputs: { payments },
      schema,
      sql: ({ db, inputs, partition }) =>
        db.selectFrom(inputs.payments).select((eb) => [eb.val(partition.key).as("day"), eb.fn.sum("amount_cents").as("revenue_cents")]),
    });
    expect(d.runProperty).toBe("sql");
    expect(d.sql).toBeTypeOf("function");
    expect(d.run).toBe(d.sql);
  });

  it("take exactly one of transform and sql, naming file and line", () => {
    expect(() => dataset("sql_neither", { schema } as never)).toThrow(
      /^packages\/core\/test\/sql-transform\.test\.ts:28:\d+: dataset "sql_neither": give a transform \(rows computed in Node\) or sql \(a query run in the warehouse\)$/,
    );
    expect(() => dataset("sql_both", { schema, transform: () => [], sql: ({ sql }) => sql`select 1` })).toThrow(
      /^packages\/core\/test\/sql-transform\.test\.ts:31:\d+: dataset "sql_both": give transform or sql, not both$/,
    );
    expect(() => dataset("sql_not_fn", { schema, sql: "select 1" as never })).toThrow(/dataset "sql_not_fn": sql must be a function \(\{ db, inputs, partition, sql \}\) => query$/);
  });

  it("type-check column names against the inputs' and the dataset's schemas", () => {
    // Checked by tsc (this file is in the project): each line below must be a type error.
    const typed = () => {
      dataset("sql_typed_wrong_input_column", {
        inputs: { payments },
        schema,
        // @ts-expect-error the result lacks revenue_cents (a wrong column name in the select)
        sql: ({ db, inputs }) => db.selectFrom(inputs.payments).select((eb) => [eb.val("x").as("day"), eb.fn.sum("amount_cents").as("revenue_cent")]),
      });
      dataset("sql_typed_wrong_output_column", {
        inputs: { payments },
        schema,
        // @ts-expect-error amount_centz is not a column of payments
        sql: ({ db, inputs }) => db.selectFrom(inputs.payments).select(["user_id as day", "amount_centz as revenue_cents"]),
      });
      dataset("sql_typed_template", { inputs: { payments }, schema, sql: ({ sql, inputs }) => sql`select day, 1 as revenue_cents from ${inputs.payments}` });
    };
    expect(typed).toBeTypeOf("function");
  });

  it("recognise kysely queries and sql templates as results", () => {
    expect(isSqlQuery(sql`select 1 as n`)).toBe(true);
    expect(isSqlQuery("select 1 as n")).toBe(false);
    expect(isSqlQuery([{ n: 1 }])).toBe(false);
  });
});
