import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sqlWarehouseConformance } from "../../../test/support/sql-warehouse-conformance.js";
import { SqliteWarehouse } from "../src/index.js";

sqlWarehouseConformance("SqliteWarehouse", {
  open: async () => new SqliteWarehouse({ path: path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-sql-")), "warehouse.db") }),
  integerType: "INTEGER",
  // SQLite's column affinity stores numbers in a text column as text, in any table.
  numberIntoText: { stored: ["16.5", "1.5", "7.5"] },
});
