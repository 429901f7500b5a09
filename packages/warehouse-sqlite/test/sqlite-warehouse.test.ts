import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { ColumnSpec, Row, WarehouseTable } from "@reflow/core";
import { warehouseConformance } from "../../../test/support/warehouse-conformance.js";
import { SqliteWarehouse } from "../src/index.js";

let file = "";

warehouseConformance("SqliteWarehouse", {
  open: async () => {
    file = path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-wh-")), "warehouse.db");
    return new SqliteWarehouse({ path: file });
  },
  // A plain SQL reader of the view, from its own connection.
  query: async (sql) => {
    const reader = new Database(file, { readonly: true });
    try {
      return reader.prepare(sql).all() as Record<string, unknown>[];
    } finally {
      reader.close();
    }
  },
  raw: { boolean: (value) => (value ? 1 : 0), json: (value) => JSON.stringify(value) },
});

// Rows are inserted 100 per statement and the rest one by one, and read as arrays: every row must come
// back in the order written, with its types restored, whatever batch and page boundaries fall where.
describe("SqliteWarehouse row path", () => {
  const columns: ColumnSpec[] = [
    { name: "n", type: "integer", nullable: false, optional: false },
    { name: "ok", type: "boolean", nullable: true, optional: false },
    { name: "tags", type: "json", nullable: false, optional: false },
    { name: "note", type: "text", nullable: true, optional: false },
    { name: "extra", type: "real", nullable: false, optional: true },
  ];
  const table: WarehouseTable = { dataset: "wide", columns };
  const row = (n: number): Row => ({
    n,
    ok: n % 3 === 0 ? null : n % 3 === 1,
    tags: { n, list: [n, "x"] },
    note: n % 2 === 0 ? `note ${n}` : null,
    ...(n % 5 === 0 ? {} : { extra: n / 4 }),
  });

  it("writes batches of any size in order and reads them back exactly, page by page", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-wh-"));
    const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
    try {
      const written = Array.from({ length: 353 }, (_, i) => row(i));
      const writer = await warehouse.openVersion(table, { partition: "p", version: 1 });
      await writer.write(written.slice(0, 250));
      await writer.write(written.slice(250, 253));
      await writer.write([]);
      await writer.write(written.slice(253));
      await writer.finish();
      const pages: Row[][] = [];
      for await (const page of warehouse.read(table, [{ partition: "p", version: 1 }], 40)) pages.push(page);
      expect(pages.map((p) => p.length)).toEqual([40, 40, 40, 40, 40, 40, 40, 40, 33]);
      expect(pages.flat()).toStrictEqual(written);
      expect(await warehouse.storedVersions("wide")).toEqual([{ dataset: "wide", partition: "p", version: 1, state: "written", rowCount: 353 }]);
    } finally {
      await warehouse.close();
    }
  });

  // The select is made once per dataset and page size, with the size written into its SQL.
  it("reads the same version with different page sizes, alternately, each with its own pages", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-wh-"));
    const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
    try {
      const written = Array.from({ length: 25 }, (_, i) => row(i));
      const writer = await warehouse.openVersion(table, { partition: "p", version: 1 });
      await writer.write(written);
      await writer.finish();
      const pageSizes = async (pageSize?: number) => {
        const pages: Row[][] = [];
        for await (const page of warehouse.read(table, [{ partition: "p", version: 1 }], pageSize)) pages.push(page);
        expect(pages.flat()).toStrictEqual(written);
        return pages.map((p) => p.length);
      };
      expect(await pageSizes(10)).toEqual([10, 10, 5]);
      expect(await pageSizes()).toEqual([25]);
      expect(await pageSizes(7)).toEqual([7, 7, 7, 4]);
      expect(await pageSizes(10)).toEqual([10, 10, 5]);
      expect(await pageSizes(25)).toEqual([25]);
      await expect(pageSizes(2.5)).rejects.toThrow("the page size to read must be a whole number of rows, not 2.5");
    } finally {
      await warehouse.close();
    }
  });
});
