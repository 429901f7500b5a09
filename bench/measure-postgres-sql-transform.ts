// What PostgreSQL's SQL runner adds to the statement itself: writeVersion of an
// aggregate (N input rows, 1,000 out) and of a projection (N rows out, so the
// content hash reads N rows back), each against the same INSERT … SELECT by hand.
// Usage: tsx bench/measure-postgres-sql-transform.ts [ROWS]; needs the test server; prints seconds.
import { sql } from "kysely";
import type { WarehouseTable } from "@reflow/core";
import { PostgresWarehouse } from "@reflow/warehouse-postgres";
import { createTestDatabase, queryDatabase } from "../test/support/postgres-server.js";

const rows = Number(process.argv[2] ?? 1_000_000);
const int = (name: string) => ({ name, type: "integer", nullable: false, optional: false }) as const;
const events: WarehouseTable = { dataset: "events", columns: [int("id"), { name: "user", type: "text", nullable: false, optional: false }, int("amount")] };
const spend: WarehouseTable = { dataset: "spend", columns: [{ name: "user", type: "text", nullable: false, optional: false }, int("amount")] };
const copy: WarehouseTable = { dataset: "copy", columns: events.columns };
const database = await createTestDatabase();
try {
  const warehouse = await PostgresWarehouse.open({ url: database.url, schema: "marts" });
  for (const table of [events, spend, copy]) await warehouse.prepare(table);
  const run = (text: string) => queryDatabase(database.url, `set search_path = marts; ${text}`);
  await run(`insert into _reflow_versions values (1, 'events', 'p', ${rows}, 'written', '');
    insert into events__rows (_partition, _version, id, "user", amount) select 'p', 1, i, 'u' || (i % 1000), (i::bigint * 7919) % 1000 from generate_series(1, ${rows}) i; analyze events__rows`);
  const input = () => warehouse.sql.versionsOf(events, [{ partition: "p", version: 1 }], "events");
  const timed = async (action: () => Promise<unknown>) => {
    const started = performance.now();
    await action();
    return (performance.now() - started) / 1000;
  };
  const result: Record<string, number> = { rows };
  let version = 10;
  for (let round = 0; round < 2; round++) {
    result[`aggregate reflow ${round}`] = await timed(() => warehouse.sql.writeVersion(spend, { partition: "p", version: version++ }, sql`select "user", sum(amount) as amount from ${input()} group by "user"`));
    result[`aggregate by hand ${round}`] = await timed(() => run(`insert into spend__rows (_partition, _version, "user", amount) select 'p', ${version++}, "user", sum(amount) from events__rows where _version in (1) group by "user"`));
    result[`projection reflow ${round}`] = await timed(() => warehouse.sql.writeVersion(copy, { partition: "p", version: version++ }, sql`select id, "user", amount * 100 as amount from ${input()}`));
    result[`projection by hand ${round}`] = await timed(() => run(`insert into copy__rows (_partition, _version, id, "user", amount) select 'p', ${version++}, id, "user", amount * 100 from events__rows where _version in (1)`));
  }
  await warehouse.close();
  console.log(JSON.stringify(result, null, 1));
} finally {
  await database.drop();
}
