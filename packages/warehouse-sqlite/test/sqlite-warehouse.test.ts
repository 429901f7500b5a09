import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
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
