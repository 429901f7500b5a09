// The by-hand equivalent of the sql-transform-postgres scenario's `spend`: the
// same INSERT … SELECT per live partition of `events`, over the same input
// version (inlined, as reflow inlines version ids), into a table of the same
// layout, with one pg client.
// Usage: baseline-postgres-sql-transform.ts URL SCHEMA; prints the rows written
// and the seconds the statements took, then drops its table again.
import pg from "pg";

const [url, schema] = process.argv.slice(2);
if (!url || !schema) throw new Error("usage: baseline-postgres-sql-transform.ts URL SCHEMA");

const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  await client.query(`set search_path = ${schema}`);
  await client.query(`drop table if exists baseline__rows;
    create table baseline__rows (_row bigint generated always as identity, _partition text not null, _version bigint not null, day text, "user" text, amount bigint);
    create index baseline__rows_by_version on baseline__rows (_version, _row)`);
  const live = (await client.query<{ partition: string; version: number }>(`select partition, version from _reflow_live where dataset = 'events' order by partition`)).rows;
  let count = 0;
  let version = 1_000_000_000;
  const started = performance.now();
  for (const { partition, version: input } of live) {
    const inserted = await client.query(
      `insert into baseline__rows (_partition, _version, day, "user", amount)
       select $1, $2, day, "user", amount from (select $3::text as day, "user", sum(amount) as amount from (select id, "user", amount from events__rows where _version in (${Number(input)})) as events group by "user") as q`,
      [partition, (version += 1), partition],
    );
    count += inserted.rowCount ?? 0;
  }
  const seconds = (performance.now() - started) / 1000;
  await client.query("drop table baseline__rows");
  console.log(`${count} ${seconds}`);
} finally {
  await client.end();
}
