import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ColumnSpec, Row, WarehouseTable } from "@reflow/core";
import { SqliteWarehouse } from "../src/index.js";

const columns: ColumnSpec[] = [
  { name: "day", type: "text", nullable: false, optional: false },
  { name: "n", type: "integer", nullable: false, optional: false },
  { name: "ok", type: "boolean", nullable: false, optional: false },
  { name: "tags", type: "json", nullable: false, optional: false },
  { name: "note", type: "text", nullable: true, optional: false },
  { name: "extra", type: "real", nullable: false, optional: true },
];
const table: WarehouseTable = { dataset: "things", columns };

let file: string;
let warehouse: SqliteWarehouse;

beforeEach(() => {
  file = path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-wh-")), "warehouse.db");
  warehouse = new SqliteWarehouse({ path: file });
});
afterEach(() => warehouse.close());

/** What a plain SQL reader of the view sees, from its own connection. */
function view(sql = "select * from things order by _partition, n"): Record<string, unknown>[] {
  const reader = new Database(file, { readonly: true });
  try {
    return reader.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    reader.close();
  }
}

async function writeVersion(partition: string, version: number, rows: Row[]): Promise<void> {
  const writer = await warehouse.openVersion(table, { partition, version });
  await writer.write(rows);
  await writer.finish();
}

const row = (day: string, n: number): Row => ({ day, n, ok: n % 2 === 0, tags: [day, n], note: null });

describe("SqliteWarehouse", () => {
  it("keeps a written version invisible until it is published", async () => {
    await warehouse.prepare(table);
    await writeVersion("2024-01-01", 1, [row("2024-01-01", 1), row("2024-01-01", 2)]);
    expect(view()).toEqual([]);
    await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
    expect(view()).toEqual([
      { _partition: "2024-01-01", day: "2024-01-01", n: 1, ok: 0, tags: '["2024-01-01",1]', note: null, extra: null },
      { _partition: "2024-01-01", day: "2024-01-01", n: 2, ok: 1, tags: '["2024-01-01",2]', note: null, extra: null },
    ]);
  });

  it("replaces a partition's rows in one step and leaves other partitions alone", async () => {
    await writeVersion("2024-01-01", 1, [row("2024-01-01", 1)]);
    await writeVersion("2024-01-02", 2, [row("2024-01-02", 5)]);
    await warehouse.publish("things", [
      { partition: "2024-01-01", version: 1 },
      { partition: "2024-01-02", version: 2 },
    ]);
    await writeVersion("2024-01-01", 3, [row("2024-01-01", 10), row("2024-01-01", 11)]);
    expect(view("select _partition, n from things order by n")).toEqual([
      { _partition: "2024-01-01", n: 1 },
      { _partition: "2024-01-02", n: 5 },
    ]);
    await warehouse.publish("things", [{ partition: "2024-01-01", version: 3 }]);
    expect(view("select _partition, n from things order by n")).toEqual([
      { _partition: "2024-01-02", n: 5 },
      { _partition: "2024-01-01", n: 10 },
      { _partition: "2024-01-01", n: 11 },
    ]);
    expect(await warehouse.liveVersions("things")).toEqual(new Map([["2024-01-01", 3], ["2024-01-02", 2]]));
  });

  it("reads back exact versions with their types restored", async () => {
    await writeVersion("2024-01-01", 1, [{ ...row("2024-01-01", 2), extra: 1.5 }, row("2024-01-01", 3)]);
    const batches: Row[][] = [];
    for await (const batch of warehouse.read(table, [{ partition: "2024-01-01", version: 1 }], 1)) batches.push(batch);
    expect(batches).toEqual([
      [{ day: "2024-01-01", n: 2, ok: true, tags: ["2024-01-01", 2], note: null, extra: 1.5 }],
      [{ day: "2024-01-01", n: 3, ok: false, tags: ["2024-01-01", 3], note: null }],
    ]);
  });

  // Found by the differential test: an unpartitioned dataset reading all of a monthly one before
  // its first month completed failed with "no such table: months__rows".
  it("reads no versions of a dataset that was never built as no rows", async () => {
    const batches: Row[][] = [];
    for await (const batch of warehouse.read({ dataset: "months", columns }, [])) batches.push(batch);
    expect(batches).toEqual([]);
  });

  it("deletes an aborted version", async () => {
    const writer = await warehouse.openVersion(table, { partition: "2024-01-01", version: 7 });
    await writer.write([row("2024-01-01", 1)]);
    await writer.abort();
    expect(view("select count(*) as n from things__rows")).toEqual([{ n: 0 }]);
  });

  it("keeps every published version, republishes an older one, and drops versions only when asked", async () => {
    for (const version of [1, 2, 3]) {
      await writeVersion("2024-01-01", version, [row("2024-01-01", version), row("2024-01-01", version + 10)]);
      await warehouse.publish("things", [{ partition: "2024-01-01", version }]);
    }
    await writeVersion("2024-01-01", 4, [row("2024-01-01", 4)]);
    expect(view("select distinct _version from things__rows order by _version")).toEqual([{ _version: 1 }, { _version: 2 }, { _version: 3 }, { _version: 4 }]);
    expect((await warehouse.storedVersions("things")).map((v) => [v.version, v.state, v.rowCount])).toEqual([
      [1, "retired", 2],
      [2, "retired", 2],
      [3, "live", 2],
      [4, "written", 1],
    ]);

    await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
    expect(view("select n from things order by n")).toEqual([{ n: 1 }, { n: 11 }]);

    await expect(warehouse.dropVersions("things", [2, 1])).rejects.toThrow("version 1 of things is live; nothing was deleted");
    expect(view("select count(*) as n from things__rows")).toEqual([{ n: 7 }]);
    const freed = await warehouse.dropVersions("things", [2, 4]);
    expect(freed.rows).toBe(3);
    expect(freed.bytes).toBeGreaterThan(0);
    expect(view("select distinct _version from things__rows order by _version")).toEqual([{ _version: 1 }, { _version: 3 }]);
    expect((await warehouse.storedVersions()).map((v) => v.version)).toEqual([1, 3]);
  });

  it("refuses to publish a version it does not hold, changing nothing", async () => {
    await writeVersion("2024-01-01", 1, [row("2024-01-01", 1)]);
    await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
    await writeVersion("2024-01-02", 2, [row("2024-01-02", 2)]);
    await expect(
      warehouse.publish("things", [
        { partition: "2024-01-02", version: 2 },
        { partition: "2024-01-01", version: 9 },
      ]),
    ).rejects.toThrow("the warehouse has no finished version 9 of things 2024-01-01; nothing was published");
    expect(await warehouse.liveVersions("things")).toEqual(new Map([["2024-01-01", 1]]));
  });

  it("adds new columns to an existing dataset and shows only current columns", async () => {
    await writeVersion("2024-01-01", 1, [row("2024-01-01", 1)]);
    await warehouse.publish("things", [{ partition: "2024-01-01", version: 1 }]);
    const wider: WarehouseTable = { dataset: "things", columns: [columns[0]!, columns[1]!, { name: "added", type: "text", nullable: true, optional: true }] };
    await warehouse.prepare(wider);
    expect(view()).toEqual([{ _partition: "2024-01-01", day: "2024-01-01", n: 1, added: null }]);
  });

  // Statements are prepared once per SQL text and reused: each dataset must still get its own.
  it("keeps datasets apart when their versions are written and published alternately (every version kept until gc)", async () => {
    const other: WarehouseTable = { dataset: "others", columns };
    for (const version of [1, 2, 3, 4, 5, 6]) {
      const target = version % 2 === 0 ? other : table;
      const writer = await warehouse.openVersion(target, { partition: "2024-01-01", version });
      await writer.write([row("2024-01-01", version)]);
      await writer.finish();
      await warehouse.publish(target.dataset, [{ partition: "2024-01-01", version }]);
    }
    expect(view("select distinct _version from things__rows order by _version")).toEqual([{ _version: 1 }, { _version: 3 }, { _version: 5 }]);
    expect(view("select distinct _version from others__rows order by _version")).toEqual([{ _version: 2 }, { _version: 4 }, { _version: 6 }]);
    expect(view("select n from things")).toEqual([{ n: 5 }]);
    expect(view("select n from others")).toEqual([{ n: 6 }]);
  });

  it("writes and reads a column added after versions were already written", async () => {
    await writeVersion("2024-01-01", 1, [row("2024-01-01", 1)]);
    const wider: WarehouseTable = { dataset: "things", columns: [...columns, { name: "added", type: "text", nullable: true, optional: true }] };
    await warehouse.prepare(wider);
    const writer = await warehouse.openVersion(wider, { partition: "2024-01-02", version: 2 });
    await writer.write([{ ...row("2024-01-02", 2), added: "yes" }]);
    await writer.finish();
    await warehouse.publish("things", [{ partition: "2024-01-02", version: 2 }]);
    expect(view("select n, added from things")).toEqual([{ n: 2, added: "yes" }]);
    const read: Row[] = [];
    for await (const batch of warehouse.read(wider, [{ partition: "2024-01-02", version: 2 }])) read.push(...batch);
    expect(read).toEqual([{ ...row("2024-01-02", 2), ok: true, added: "yes" }]);
  });
});
