import { describe, expect, it } from "vitest";
import type { ColumnSpec, Row, Warehouse, WarehouseTable } from "@reflow/core";

/** One warehouse implementation under test: a fresh empty warehouse per test, and SQL on it from another connection. */
export interface WarehouseUnderTest {
  open(): Promise<Warehouse>;
  /** Rows of a query against the warehouse, as a plain SQL client sees them. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** How a plain SQL client sees a boolean and a JSON column. */
  readonly raw: { boolean(value: boolean): unknown; json(value: unknown): unknown };
  /** Anything to undo after each test (closing is done here). */
  cleanUp?(): Promise<void>;
}

const columns: ColumnSpec[] = [
  { name: "day", type: "text", nullable: false, optional: false },
  { name: "n", type: "integer", nullable: false, optional: false },
  { name: "ok", type: "boolean", nullable: false, optional: false },
  { name: "tags", type: "json", nullable: false, optional: false },
  { name: "note", type: "text", nullable: true, optional: false },
  { name: "extra", type: "real", nullable: false, optional: true },
];
const table: WarehouseTable = { dataset: "things", columns };
const row = (day: string, n: number): Row => ({ day, n, ok: n % 2 === 0, tags: [day, n], note: null });
const versionsOf = (rowsTable: string) => `select distinct cast(_version as integer) as _version from ${rowsTable} order by _version`;

/**
 * The behaviour every `Warehouse` must have (invisible versions, atomic
 * publish, exact reads, rollback by republishing, drop only when asked),
 * run against each implementation by its package's tests.
 */
export function warehouseConformance(name: string, subject: WarehouseUnderTest): void {
  describe(`${name} (warehouse conformance)`, () => {
    const withWarehouse = (run: (warehouse: Warehouse) => Promise<void>) => async () => {
      const warehouse = await subject.open();
      try {
        await run(warehouse);
      } finally {
        await warehouse.close();
        await subject.cleanUp?.();
      }
    };
    const writeVersion = async (warehouse: Warehouse, partition: string, version: number, rows: Row[], into = table) => {
      const writer = await warehouse.openVersion(into, { partition, version });
      await writer.write(rows);
      await writer.finish();
    };
    const view = (sql = "select * from things order by _partition, n") => subject.query(sql);

    it(
      "keeps a written version invisible until it is published",
      withWarehouse(async (warehouse) => {
        await warehouse.prepare(table);
        await writeVersion(warehouse, "2024-01-01", 1, [row("2024-01-01", 1), row("2024-01-01", 2)]);
        expect(await view()).toEqual([]);
        await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
        const { boolean, json } = subject.raw;
        expect(await view()).toEqual([
          { _partition: "2024-01-01", day: "2024-01-01", n: 1, ok: boolean(false), tags: json(["2024-01-01", 1]), note: null, extra: null },
          { _partition: "2024-01-01", day: "2024-01-01", n: 2, ok: boolean(true), tags: json(["2024-01-01", 2]), note: null, extra: null },
        ]);
      }),
    );

    // Found by the differential test: an unpartitioned dataset reading all of a monthly one before
    // its first month completed failed with "no such table: months__rows".
    it(
      "reads no versions of a dataset that was never built as no rows",
      withWarehouse(async (warehouse) => {
        const batches: Row[][] = [];
        for await (const batch of warehouse.read({ dataset: "months", columns }, [])) batches.push(batch);
        expect(batches).toEqual([]);
      }),
    );

    it(
      "replaces a partition's rows in one step and leaves other partitions alone",
      withWarehouse(async (warehouse) => {
        await writeVersion(warehouse, "2024-01-01", 1, [row("2024-01-01", 1)]);
        await writeVersion(warehouse, "2024-01-02", 2, [row("2024-01-02", 5)]);
        await warehouse.publish("things", [
          { partition: "2024-01-01", version: 1 },
          { partition: "2024-01-02", version: 2 },
        ]);
        await writeVersion(warehouse, "2024-01-01", 3, [row("2024-01-01", 10), row("2024-01-01", 11)]);
        expect(await view("select _partition, n from things order by n")).toEqual([
          { _partition: "2024-01-01", n: 1 },
          { _partition: "2024-01-02", n: 5 },
        ]);
        await warehouse.publish("things", [{ partition: "2024-01-01", version: 3 }]);
        expect(await view("select _partition, n from things order by n")).toEqual([
          { _partition: "2024-01-02", n: 5 },
          { _partition: "2024-01-01", n: 10 },
          { _partition: "2024-01-01", n: 11 },
        ]);
        expect(await warehouse.liveVersions("things")).toEqual(new Map([["2024-01-01", 3], ["2024-01-02", 2]]));
      }),
    );

    it(
      "reads back exact versions with their types restored",
      withWarehouse(async (warehouse) => {
        await writeVersion(warehouse, "2024-01-01", 1, [{ ...row("2024-01-01", 2), extra: 1.5 }, row("2024-01-01", 3)]);
        const batches: Row[][] = [];
        for await (const batch of warehouse.read(table, [{ partition: "2024-01-01", version: 1 }], 1)) batches.push(batch);
        expect(batches).toEqual([
          [{ day: "2024-01-01", n: 2, ok: true, tags: ["2024-01-01", 2], note: null, extra: 1.5 }],
          [{ day: "2024-01-01", n: 3, ok: false, tags: ["2024-01-01", 3], note: null }],
        ]);
      }),
    );

    it(
      "deletes an aborted version",
      withWarehouse(async (warehouse) => {
        const writer = await warehouse.openVersion(table, { partition: "2024-01-01", version: 7 });
        await writer.write([row("2024-01-01", 1)]);
        await writer.abort();
        expect(await view("select cast(count(*) as integer) as n from things__rows")).toEqual([{ n: 0 }]);
        expect(await warehouse.storedVersions()).toEqual([]);
      }),
    );

    it(
      "keeps every published version, republishes an older one, and drops versions only when asked",
      withWarehouse(async (warehouse) => {
        for (const version of [1, 2, 3]) {
          await writeVersion(warehouse, "2024-01-01", version, [row("2024-01-01", version), row("2024-01-01", version + 10)]);
          await warehouse.publish("things", [{ partition: "2024-01-01", version }]);
        }
        await writeVersion(warehouse, "2024-01-01", 4, [row("2024-01-01", 4)]);
        expect(await view(versionsOf("things__rows"))).toEqual([{ _version: 1 }, { _version: 2 }, { _version: 3 }, { _version: 4 }]);
        expect((await warehouse.storedVersions("things")).map((v) => [v.version, v.state, v.rowCount])).toEqual([
          [1, "retired", 2],
          [2, "retired", 2],
          [3, "live", 2],
          [4, "written", 1],
        ]);

        await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
        expect(await view("select n from things order by n")).toEqual([{ n: 1 }, { n: 11 }]);

        await expect(warehouse.dropVersions("things", [2, 1])).rejects.toThrow("version 1 of things is live; nothing was deleted");
        expect(await view("select cast(count(*) as integer) as n from things__rows")).toEqual([{ n: 7 }]);
        const freed = await warehouse.dropVersions("things", [2, 4]);
        expect(freed.rows).toBe(3);
        expect(freed.bytes).toBeGreaterThan(0);
        expect(await view(versionsOf("things__rows"))).toEqual([{ _version: 1 }, { _version: 3 }]);
        expect((await warehouse.storedVersions()).map((v) => v.version)).toEqual([1, 3]);
      }),
    );

    it(
      "refuses to publish a version it does not hold, changing nothing",
      withWarehouse(async (warehouse) => {
        await writeVersion(warehouse, "2024-01-01", 1, [row("2024-01-01", 1)]);
        await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
        await writeVersion(warehouse, "2024-01-02", 2, [row("2024-01-02", 2)]);
        await expect(
          warehouse.publish("things", [
            { partition: "2024-01-02", version: 2 },
            { partition: "2024-01-01", version: 9 },
          ]),
        ).rejects.toThrow("the warehouse has no finished version 9 of things 2024-01-01; nothing was published");
        expect(await warehouse.liveVersions("things")).toEqual(new Map([["2024-01-01", 1]]));
        expect(await view("select n from things")).toEqual([{ n: 1 }]);
      }),
    );

    it(
      "adds new columns to an existing dataset and shows only current columns",
      withWarehouse(async (warehouse) => {
        await writeVersion(warehouse, "2024-01-01", 1, [row("2024-01-01", 1)]);
        await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
        const wider: WarehouseTable = { dataset: "things", columns: [columns[0]!, columns[1]!, { name: "added", type: "text", nullable: true, optional: true }] };
        await warehouse.prepare(wider);
        expect(await view()).toEqual([{ _partition: "2024-01-01", day: "2024-01-01", n: 1, added: null }]);
      }),
    );

    it(
      "keeps datasets apart when their versions are written and published alternately (every version kept until gc)",
      withWarehouse(async (warehouse) => {
        const other: WarehouseTable = { dataset: "others", columns };
        for (const version of [1, 2, 3, 4, 5, 6]) {
          const target = version % 2 === 0 ? other : table;
          await writeVersion(warehouse, "2024-01-01", version, [row("2024-01-01", version)], target);
          await warehouse.publish(target.dataset, [{ partition: "2024-01-01", version }]);
        }
        expect(await view(versionsOf("things__rows"))).toEqual([{ _version: 1 }, { _version: 3 }, { _version: 5 }]);
        expect(await view(versionsOf("others__rows"))).toEqual([{ _version: 2 }, { _version: 4 }, { _version: 6 }]);
        expect(await view("select n from things")).toEqual([{ n: 5 }]);
        expect(await view("select n from others")).toEqual([{ n: 6 }]);
      }),
    );

    it(
      "writes and reads a column added after versions were already written",
      withWarehouse(async (warehouse) => {
        await writeVersion(warehouse, "2024-01-01", 1, [row("2024-01-01", 1)]);
        const wider: WarehouseTable = { dataset: "things", columns: [...columns, { name: "added", type: "text", nullable: true, optional: true }] };
        await warehouse.prepare(wider);
        await writeVersion(warehouse, "2024-01-02", 2, [{ ...row("2024-01-02", 2), added: "yes" }], wider);
        await warehouse.publish("things", [{ partition: "2024-01-02", version: 2 }]);
        expect(await view("select n, added from things")).toEqual([{ n: 2, added: "yes" }]);
        const read: Row[] = [];
        for await (const batch of warehouse.read(wider, [{ partition: "2024-01-02", version: 2 }])) read.push(...batch);
        expect(read).toEqual([{ ...row("2024-01-02", 2), ok: true, added: "yes" }]);
      }),
    );
  });
}
