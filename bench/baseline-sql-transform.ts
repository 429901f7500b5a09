// The by-hand equivalent of the sql-transform scenario's `spend`: the same
// INSERT … SELECT per live partition of `events`, over the same input version,
// into a table of the same layout, with better-sqlite3 in one process.
// Usage: baseline-sql-transform.ts WAREHOUSE_DB; prints the rows written and the
// seconds the statements took, then drops its table again.
import Database from "better-sqlite3";

const file = process.argv[2];
if (!file) throw new Error("usage: baseline-sql-transform.ts WAREHOUSE_DB");

const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec(`
  drop table if exists baseline__rows;
  create table baseline__rows (_partition text not null, _version integer not null, day text, user text, amount integer);
  create index baseline__rows_by_version on baseline__rows (_version);
`);
const live = db.prepare(`select partition, version from _reflow_live where dataset = 'events' order by partition`).all() as { partition: string; version: number }[];
let count = 0;
let version = 1_000_000_000;
const started = performance.now();
for (const { partition, version: input } of live) {
  const insert = db.prepare(
    `insert into baseline__rows (_partition, _version, day, user, amount)
     select ?, ?, day, user, amount from (select ? as day, user, sum(amount) as amount from (select id, user, amount from events__rows where _version in (${input})) as events group by user)`,
  );
  count += insert.run(partition, (version += 1), partition).changes;
}
const seconds = (performance.now() - started) / 1000;
db.exec("drop table baseline__rows");
db.close();
console.log(`${count} ${seconds}`);
