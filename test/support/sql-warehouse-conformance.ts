import { sql, type RawBuilder } from "kysely";
import { describe, expect, it } from "vitest";
import { ContentHasher, notNull, unique, type ColumnSpec, type Row, type SqlWarehouse, type Warehouse, type WarehouseCheckContext, type WarehouseTable } from "@reflow/core";

/** One warehouse that runs SQL transforms, under test: a fresh empty warehouse per test. */
export interface SqlWarehouseUnderTest {
  open(): Promise<Warehouse>;
  /** Anything to undo after each test (closing is done here). */
  cleanUp?(): Promise<void>;
  /** How the warehouse names a stored integer column's type in a mismatch (SQLite: `INTEGER`). */
  readonly integerType: string;
  /** What numbers written into a text column give: the text stored, in user order, or the mismatch. */
  readonly numberIntoText: { readonly stored: string[] } | { readonly error: string };
}

export const payments: WarehouseTable = {
  dataset: "payments",
  columns: [
    { name: "user_id", type: "text", nullable: false, optional: false },
    { name: "amount", type: "integer", nullable: false, optional: false },
  ],
};
const spendColumns: ColumnSpec[] = [
  { name: "user_id", type: "text", nullable: false, optional: false },
  { name: "cents", type: "integer", nullable: false, optional: false },
  { name: "vip", type: "boolean", nullable: false, optional: false },
  { name: "note", type: "text", nullable: true, optional: true },
];
export const spend: WarehouseTable = { dataset: "spend", columns: spendColumns };

/** Payments in three versions of two partitions, and the spend table prepared. */
export async function seedPayments(warehouse: Warehouse): Promise<void> {
  await warehouse.prepare(spend);
  for (const [partition, version, rows] of [
    ["2024-01-01", 1, [{ user_id: "alice", amount: 10 }, { user_id: "bob", amount: 1 }, { user_id: "alice", amount: 1 }]],
    ["2024-01-01", 2, [{ user_id: "alice", amount: 500 }]],
    ["2024-01-02", 3, [{ user_id: "carol", amount: 5 }]],
  ] as const) {
    const writer = await warehouse.openVersion(payments, { partition, version });
    await writer.write(rows as unknown as Row[]);
    await writer.finish();
  }
}

/** The rows of one version, by user, as `read` gives them. */
export async function rowsOf(warehouse: Warehouse, table: WarehouseTable, version: number): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of warehouse.read(table, [{ partition: "2024-01-01", version }])) rows.push(...batch);
  return rows.sort((a, b) => String(a.user_id).localeCompare(String(b.user_id)));
}

/**
 * The behaviour of every `SqlWarehouse` (exact input versions, one unpublished
 * version per query, the result checked by name, type and nullness with the
 * same messages, nothing kept on a mismatch, the content hash of a JS
 * transform, checks as queries), run against each implementation by its package's tests.
 */
export function sqlWarehouseConformance(name: string, subject: SqlWarehouseUnderTest): void {
  describe(`${name} (SQL warehouse conformance)`, () => {
    const withWarehouse = (run: (warehouse: Warehouse, runner: SqlWarehouse) => Promise<void>) => async () => {
      const warehouse = await subject.open();
      try {
        await seedPayments(warehouse);
        await run(warehouse, warehouse.sql!);
      } finally {
        await warehouse.close();
        await subject.cleanUp?.();
      }
    };
    /** Per user, over the given versions of payments. */
    const spendOf = (runner: SqlWarehouse, versions: number[], extra = ""): RawBuilder<unknown> => {
      const input = runner.versionsOf(payments, versions.map((version) => ({ partition: "p", version })), "payments");
      return sql`select user_id, sum(amount) as cents, sum(amount) > 100 as vip${sql.raw(extra)} from ${input} group by user_id`;
    };

    it(
      "writes a query's rows over exactly the given input versions as a new, unpublished version",
      withWarehouse(async (warehouse, runner) => {
        const written = await runner.writeVersion(spend, { partition: "2024-01-01", version: 10 }, spendOf(runner, [1, 3]));
        expect(await rowsOf(warehouse, spend, 10)).toEqual([
          { user_id: "alice", cents: 11, vip: false, note: null },
          { user_id: "bob", cents: 1, vip: false, note: null },
          { user_id: "carol", cents: 5, vip: false, note: null },
        ]);
        expect(written.rowCount).toBe(3);
        // The same digest a transform returning these rows gets.
        const hasher = new ContentHasher(spendColumns);
        for (const row of [{ user_id: "carol", cents: 5, vip: false }, { user_id: "alice", cents: 11, vip: false }, { user_id: "bob", cents: 1, vip: false }]) hasher.add(row);
        expect(written.contentHash).toBe(hasher.digest());
        expect(await warehouse.storedVersions("spend")).toEqual([{ dataset: "spend", partition: "2024-01-01", version: 10, state: "written", rowCount: 3 }]);
        expect(await warehouse.liveVersions("spend")).toEqual(new Map());
      }),
    );

    it(
      "takes a kysely select built with its query builder, binding parameters as values of their type",
      withWarehouse(async (warehouse, runner) => {
        const input = runner.versionsOf(payments, [{ partition: "2024-01-01", version: 2 }], "payments") as never;
        const query = runner.db
          .selectFrom(input)
          .select((eb: any) => ["user_id", eb.fn.sum("amount").as("cents"), eb.val(1).as("vip"), eb.val("x").as("note")])
          .where((eb: any) => eb("amount", ">", 499.5))
          .groupBy("user_id");
        await runner.writeVersion(spend, { partition: "2024-01-01", version: 11 }, query);
        expect(await rowsOf(warehouse, spend, 11)).toEqual([{ user_id: "alice", cents: 500, vip: true, note: "x" }]);
      }),
    );

    it(
      "rejects a result with other columns than the schema's before writing anything",
      withWarehouse(async (warehouse, runner) => {
        for (const [extra, message] of [
          [", 1 as bonus", 'column "bonus" is not in the schema (it has user_id, cents, vip, note)'],
          [", user_id", 'column "user_id" appears twice in the result'],
        ]) {
          await expect(runner.writeVersion(spend, { partition: "2024-01-01", version: 12 }, spendOf(runner, [1, 3], extra))).rejects.toThrow(message);
        }
        expect(await warehouse.storedVersions("spend")).toEqual([]);
      }),
    );

    it(
      "treats numbers written into a text column as the warehouse's types say",
      withWarehouse(async (warehouse, runner) => {
        const writing = runner.writeVersion(spend, { partition: "2024-01-01", version: 12 }, spendOf(runner, [1, 3], ", sum(amount) * 1.5 as note"));
        if ("error" in subject.numberIntoText) {
          await expect(writing).rejects.toThrow(subject.numberIntoText.error);
          expect(await warehouse.storedVersions("spend")).toEqual([]);
        } else {
          await writing;
          expect((await rowsOf(warehouse, spend, 12)).map((r) => r.note)).toEqual(subject.numberIntoText.stored);
        }
      }),
    );

    it(
      "rejects missing required columns, wrong types and nulls, naming the column; nothing is kept",
      withWarehouse(async (warehouse, runner) => {
        const input = () => runner.versionsOf(payments, [{ partition: "p", version: 1 }], "payments");
        const cases: [RawBuilder<unknown>, string][] = [
          [sql`select user_id, 1 as vip from ${input()}`, 'the result has no column "cents" (it has user_id, vip)'],
          [sql`select user_id, amount / 2.0 as cents, 0 as vip from ${input()}`, 'column "cents": 2 rows hold values that are not integers (first: 0.5)'],
          [sql`select user_id, amount as cents, 2 as vip from ${input()}`, 'column "vip": 3 rows hold values that are not booleans (0 or 1) (first: 2)'],
          [sql`select null as user_id, amount as cents, 0 as vip from ${input()}`, 'column "user_id": 3 rows hold null, but the schema requires a value'],
          [
            sql`select amount as user_id, user_id as cents, 0 as vip from ${sql.table("payments__rows")}`,
            `column "user_id" is ${subject.integerType} in the warehouse, but the schema says text`,
          ],
        ];
        for (const [query, message] of cases) {
          const error = await runner.writeVersion(spend, { partition: "2024-01-01", version: 13 }, query).catch((e: unknown) => e);
          expect(error).toMatchObject({ code: "REFLOW_SCHEMA_MISMATCH", message });
        }
        expect(await warehouse.storedVersions("spend")).toEqual([]);
        expect(await rowsOf(warehouse, spend, 13)).toEqual([]);
      }),
    );

    it(
      "runs built-in checks as queries over a version",
      withWarehouse(async (_warehouse, runner) => {
        const input = runner.versionsOf(payments, [{ partition: "p", version: 1 }], "payments");
        await runner.writeVersion(spend, { partition: "2024-01-01", version: 14 }, sql`select user_id, amount as cents, 0 as vip from ${input}`);
        const context: WarehouseCheckContext = {
          dataset: "spend",
          partition: { key: "2024-01-01" },
          rowCount: 3,
          query: (build) => runner.select(build(runner.db as never, runner.versionsOf(spend, [{ partition: "2024-01-01", version: 14 }], "rows") as never)) as never,
        };
        expect(await unique(["user_id"]).inWarehouse!(context)).toBe('1 row repeat a key already seen, first user_id="alice" (2 rows)');
        expect(await unique(["user_id", "cents"]).inWarehouse!(context)).toBeUndefined();
        expect(await notNull(["note", "user_id"]).inWarehouse!(context)).toBe("3 rows with a null value (note: 3)");
        expect(await notNull(["user_id"]).inWarehouse!(context)).toBeUndefined();
      }),
    );
  });
}
