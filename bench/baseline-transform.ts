// The physical limit for transform-throughput: the same reads, computation and
// writes as `enriched` (rows in, rows out, same table layout and index), written
// by hand against better-sqlite3 in one process, without validation, hashing
// or bookkeeping. Usage: baseline-transform.ts WAREHOUSE_DB; prints the row count
// and leaves its table, baseline__rows, for the harness to drop untimed.
import Database from "better-sqlite3";

const file = process.argv[2];
if (!file) throw new Error("usage: baseline-transform.ts WAREHOUSE_DB");

// Writer first, so the file is in WAL mode and the reader can read while it writes.
const writer = new Database(file);
writer.pragma("journal_mode = WAL");
writer.pragma("synchronous = NORMAL");
writer.exec(`
  drop table if exists baseline__rows;
  create table baseline__rows (_partition text not null, _version integer not null, id integer, user text, amount_cents integer, tier text);
  create index baseline__rows_by_version on baseline__rows (_version);
`);
const reader = new Database(file, { readonly: true });
const live = reader.prepare(`select partition, version from _reflow_live where dataset = 'events' order by partition`).all() as { partition: string; version: number }[];
const select = reader.prepare(`select id, user, amount from events__rows where _version = ?`);
const insert = writer.prepare(`insert into baseline__rows values (?, ?, ?, ?, ?, ?)`);
let count = 0;
for (const { partition, version } of live) {
  writer.transaction(() => {
    for (const e of select.iterate(version) as Iterable<{ id: number; user: string; amount: number }>) {
      insert.run(partition, version, e.id, e.user, e.amount * 100, e.amount >= 500 ? "high" : "low");
      count += 1;
    }
  })();
}
reader.close();
writer.pragma("journal_mode = DELETE");
writer.close();
process.stdout.write(`${count}\n`);
