// How much the content hash read-back costs a SQL transform whose output is as
// large as its input (a projection): writeVersion of N rows against the same
// INSERT … SELECT by hand. Usage: tsx bench/measure-sql-read-back.ts [ROWS]; prints seconds.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { sql } from "kysely";
import type { WarehouseTable } from "@reflow/core";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";

const rows = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-read-back-"));
const file = path.join(dir, "warehouse.db");
const columns = [
  { name: "id", type: "integer", nullable: false, optional: false },
  { name: "user", type: "text", nullable: false, optional: false },
  { name: "amount", type: "integer", nullable: false, optional: false },
] as const;
const events: WarehouseTable = { dataset: "events", columns };
const copy: WarehouseTable = { dataset: "copy", columns };
try {
  const warehouse = new SqliteWarehouse({ path: file });
  const writer = await warehouse.openVersion(events, { partition: "p", version: 1 });
  for (let i = 0; i < rows; i += 10_000) {
    await writer.write(Array.from({ length: 10_000 }, (_, j) => ({ id: i + j, user: `u${(i + j) % 1000}`, amount: ((i + j) * 7919) % 1000 })));
  }
  await writer.finish();
  await warehouse.prepare(copy);
  const started = performance.now();
  const input = warehouse.sql.versionsOf(events, [{ partition: "p", version: 1 }], "events");
  await warehouse.sql.writeVersion(copy, { partition: "p", version: 2 }, sql`select id, user, amount * 100 as amount from ${input}`);
  const reflow = (performance.now() - started) / 1000;
  await warehouse.close();
  const db = new Database(file);
  const byHand = performance.now();
  db.prepare(`insert into copy__rows (_partition, _version, id, user, amount) select 'p', 3, id, user, amount * 100 from events__rows where _version in (1)`).run();
  const baseline = (performance.now() - byHand) / 1000;
  db.close();
  console.log(JSON.stringify({ rows, writeVersionSeconds: reflow, byHandSeconds: baseline, overhead: reflow / baseline - 1 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
