import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import type { ColumnSpec, FreedSpace, PartitionVersionRef, Row, SqlWarehouse, StoredVersion, VersionWriteOptions, VersionWriter, Warehouse, WarehouseTable } from "@reflow/core";
import { connectPostgres, storageUnavailable, type PostgresConnection } from "@reflow/postgres";
import { PostgresSqlWarehouse, rowsTable } from "./postgres-sql-warehouse.js";

export interface PostgresWarehouseOptions {
  readonly url: string;
  /** The schema holding every table and view (created by a writer if missing). */
  readonly schema: string;
  /** Read-only sessions; nothing is created. A schema nobody wrote yet reads as empty. */
  readonly readOnly?: boolean;
}

const DEFAULT_BATCH = 5_000;
/** PostgreSQL takes at most 65535 parameters per statement. */
const MAX_PARAMETERS = 60_000;
const MAX_ROWS_PER_INSERT = 1_000;

/**
 * The PostgreSQL warehouse, laid out as the SQLite one, in one schema: rows of
 * every version of a dataset in `<name>__rows` (tagged `_partition`,
 * `_version`, and `_row` for paging), `_reflow_live` naming the live version
 * of each partition, and the view `<name>` showing exactly the live rows.
 * Publishing is one transaction over `_reflow_live`: under PostgreSQL's MVCC
 * a reader sees the old rows or the new, never a mix. DDL (creating and
 * widening tables, replacing views) holds a transaction-scoped advisory lock
 * so that processes sharing the schema never race on it.
 */
export class PostgresWarehouse implements Warehouse {
  private readonly prepared = new Set<string>();
  readonly sql: SqlWarehouse;

  private constructor(
    private readonly connection: PostgresConnection,
    private readonly options: PostgresWarehouseOptions,
    /** False for a reader of a warehouse nobody wrote yet. */
    private readonly exists: boolean,
  ) {
    this.sql = new PostgresSqlWarehouse({
      db: connection.db,
      pool: connection.pool,
      ensurePrepared: async (table) => {
        if (!this.prepared.has(table.dataset)) await this.prepare(table);
      },
      read: (table, refs) => this.read(table, refs),
      dropVersions: (dataset, versions) => this.dropVersions(dataset, versions),
    });
  }

  private get db(): Kysely<any> {
    return this.connection.db;
  }

  static async open(options: PostgresWarehouseOptions): Promise<PostgresWarehouse> {
    const connection = await connectPostgres({ url: options.url, schema: options.schema, readOnly: options.readOnly, role: "warehouse" });
    try {
      if (options.readOnly) {
        const found = await sql<{ found: boolean }>`select to_regclass(${`${options.schema}._reflow_live`}) is not null as found`.execute(connection.db);
        return new PostgresWarehouse(connection, options, found.rows[0]!.found);
      }
      await connection.db.transaction().execute(async (trx) => {
        await ddlLock(trx, options.schema);
        await sql`create table if not exists _reflow_versions (
          version bigint primary key,
          dataset text not null,
          partition text not null,
          row_count bigint,
          state text not null,
          created_at text not null
        )`.execute(trx);
        await sql`create index if not exists _reflow_versions_by_partition on _reflow_versions (dataset, partition)`.execute(trx);
        // The claim number of the distributed build writing the version (null: not distributed); see openVersion.
        await sql`alter table _reflow_versions add column if not exists fence integer`.execute(trx);
        await sql`create table if not exists _reflow_live (
          dataset text not null,
          partition text not null,
          version bigint not null,
          primary key (dataset, partition)
        )`.execute(trx);
      });
      return new PostgresWarehouse(connection, options, true);
    } catch (error) {
      await connection.close();
      throw storageUnavailable({ url: options.url, role: "warehouse" }, error);
    }
  }

  async prepare(table: WarehouseTable): Promise<void> {
    const rows = rowsTable(table.dataset);
    await this.db.transaction().execute(async (trx) => {
      await ddlLock(trx, this.options.schema);
      const existing = await sql<{ column_name: string }>`
        select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${rows}`.execute(trx);
      if (existing.rows.length === 0) {
        const columns = table.columns.map((c) => sql`, ${sql.id(c.name)} ${sql.raw(sqlType(c))}`);
        await sql`create table ${sql.id(rows)} (
          _row bigint generated always as identity,
          _partition text not null,
          _version bigint not null${sql.join(columns, sql``)}
        )`.execute(trx);
        await sql`create index ${sql.id(`${rows}_by_version`)} on ${sql.id(rows)} (_version, _row)`.execute(trx);
      } else {
        const have = new Set(existing.rows.map((c) => c.column_name));
        for (const column of table.columns) {
          if (!have.has(column.name)) await sql`alter table ${sql.id(rows)} add column ${sql.id(column.name)} ${sql.raw(sqlType(column))}`.execute(trx);
        }
      }
      const names = ["_partition", ...table.columns.map((c) => c.name)];
      const viewColumns = await sql<{ column_name: string }>`
        select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${table.dataset} order by ordinal_position`.execute(trx);
      // Replaced in place when columns are only added at the end, so that users' own views on it
      // survive; a removed or reordered column needs a new view (and PostgreSQL refuses if one depends on it).
      const onlyAdded = viewColumns.rows.every((c, i) => names[i] === c.column_name);
      if (!onlyAdded) await sql`drop view if exists ${sql.id(table.dataset)}`.execute(trx);
      await sql`create or replace view ${sql.id(table.dataset)} as select ${sql.join(names.map((name) => sql.id(name)))} from ${sql.id(rows)}
        where _version in (select version from _reflow_live where dataset = ${sql.lit(table.dataset)})`.execute(trx);
    });
    this.prepared.add(table.dataset);
  }

  async openVersion(table: WarehouseTable, ref: PartitionVersionRef, options: VersionWriteOptions = {}): Promise<VersionWriter> {
    if (!this.prepared.has(table.dataset)) await this.prepare(table);
    const columns = table.columns;
    const fence = options.fence;
    const rows = sql.id(rowsTable(table.dataset));
    const createdAt = new Date().toISOString();
    if (fence === undefined) {
      await sql`insert into _reflow_versions (version, dataset, partition, row_count, state, created_at)
        values (${ref.version}, ${table.dataset}, ${ref.partition}, null, 'writing', ${createdAt})`.execute(this.db);
    } else {
      // Take the version over from any writer with a lower fence (a claimer whose lease ran out), waiting for its chunk in flight.
      await this.db.transaction().execute(async (trx) => {
        await sql`insert into _reflow_versions (version, dataset, partition, row_count, state, created_at, fence)
          values (${ref.version}, ${table.dataset}, ${ref.partition}, null, 'writing', ${createdAt}, ${fence}) on conflict (version) do nothing`.execute(trx);
        const held = await sql<{ fence: number | null; state: string }>`select fence, state from _reflow_versions where version = ${ref.version} for update`.execute(trx);
        const current = held.rows[0]!;
        if ((current.fence ?? 0) > fence || current.state === "live" || current.state === "retired") {
          throw new Error(`version ${ref.version} of ${table.dataset} ${ref.partition} is held by a newer claim (fence ${current.fence}, state ${current.state}); nothing was written`);
        }
        await sql`delete from ${rows} where _version = ${ref.version}`.execute(trx);
        await sql`update _reflow_versions set fence = ${fence}, state = 'writing', row_count = null, created_at = ${createdAt} where version = ${ref.version}`.execute(trx);
      });
    }
    const names = sql.join(["_partition", "_version", ...columns.map((c) => c.name)].map((name) => sql.id(name)));
    const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / (columns.length + 2))));
    const lost = () => new Error(`version ${ref.version} of ${table.dataset} ${ref.partition} was taken over by a newer claim (this claim's lease ran out); nothing more was written`);
    let count = 0;
    return {
      write: async (batch) => {
        for (let i = 0; i < batch.length; i += perInsert) {
          const tuples = batch.slice(i, i + perInsert).map((row) => tuple([ref.partition, ref.version, ...columns.map((c) => toSql(row[c.name], c))]));
          const insert = sql`insert into ${rows} (${names}) values ${sql.join(tuples)}`;
          // One multi-row INSERT per chunk: one round trip for up to a thousand rows.
          if (fence === undefined) await insert.execute(this.db);
          else {
            // Fenced: the chunk lands only while this claim still holds the version (the share lock makes a take-over wait for it).
            await this.db.transaction().execute(async (trx) => {
              const mine = await sql`select 1 from _reflow_versions where version = ${ref.version} and fence = ${fence} for share`.execute(trx);
              if (mine.rows.length === 0) throw lost();
              await insert.execute(trx);
            });
          }
        }
        count += batch.length;
      },
      finish: async () => {
        const done = await sql`update _reflow_versions set row_count = ${count}, state = 'written'
          where version = ${ref.version} ${fence === undefined ? sql`` : sql`and fence = ${fence}`}`.execute(this.db);
        if (Number(done.numAffectedRows ?? 0n) !== 1) throw lost();
      },
      abort: async () => {
        await this.db.transaction().execute(async (trx) => {
          if (fence !== undefined) {
            const mine = await sql`select 1 from _reflow_versions where version = ${ref.version} and fence = ${fence} for update`.execute(trx);
            if (mine.rows.length === 0) return;
          }
          await deleteVersions(trx, table.dataset, [ref.version]);
        });
      },
    };
  }

  async publish(dataset: string, refs: readonly PartitionVersionRef[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const ref of refs) {
        const found = await sql<{ state: string }>`
          select state from _reflow_versions where version = ${ref.version} and dataset = ${dataset} and partition = ${ref.partition}`.execute(trx);
        const state = found.rows[0]?.state;
        if (state === undefined || state === "writing") {
          throw new Error(`the warehouse has no finished version ${ref.version} of ${dataset} ${ref.partition}; nothing was published`);
        }
        const current = await sql<{ version: number }>`
          select version from _reflow_live where dataset = ${dataset} and partition = ${ref.partition} for update`.execute(trx);
        const previous = current.rows[0]?.version;
        if (previous !== undefined && previous !== ref.version) await sql`update _reflow_versions set state = 'retired' where version = ${previous}`.execute(trx);
        await sql`insert into _reflow_live (dataset, partition, version) values (${dataset}, ${ref.partition}, ${ref.version})
          on conflict (dataset, partition) do update set version = excluded.version`.execute(trx);
        await sql`update _reflow_versions set state = 'live' where version = ${ref.version}`.execute(trx);
      }
    });
  }

  async *read(table: WarehouseTable, refs: readonly PartitionVersionRef[], batchSize = DEFAULT_BATCH): AsyncIterable<Row[]> {
    const columns = table.columns;
    const select = sql.join([sql.id("_row"), ...columns.map((c) => sql.id(c.name))]);
    // Keyset pages on (_version, _row): each is one indexed range scan, and no cursor holds a connection between batches.
    for (const ref of refs) {
      let after = 0;
      for (;;) {
        const page = await sql<Record<string, unknown>>`
          select ${select} from ${sql.id(rowsTable(table.dataset))}
          where _version = ${ref.version} and _row > ${after} order by _row limit ${batchSize}`.execute(this.db);
        if (page.rows.length === 0) break;
        after = page.rows[page.rows.length - 1]!._row as number;
        yield page.rows.map((raw) => {
          const row: Row = {};
          for (const column of columns) {
            const value = fromSql(raw[column.name], column);
            if (value !== undefined) row[column.name] = value;
          }
          return row;
        });
        if (page.rows.length < batchSize) break;
      }
    }
  }

  async liveVersions(dataset: string): Promise<Map<string, number>> {
    if (!this.exists) return new Map();
    const rows = await sql<{ partition: string; version: number }>`select partition, version from _reflow_live where dataset = ${dataset}`.execute(this.db);
    return new Map(rows.rows.map((r) => [r.partition, r.version]));
  }

  async storedVersions(dataset?: string): Promise<StoredVersion[]> {
    if (!this.exists) return [];
    const rows = await sql<StoredVersion>`
      select dataset, partition, version, state, row_count as "rowCount" from _reflow_versions
      ${dataset === undefined ? sql`` : sql`where dataset = ${dataset}`}
      order by dataset, partition, version`.execute(this.db);
    return rows.rows;
  }

  async dropVersions(dataset: string, versions: readonly number[]): Promise<FreedSpace> {
    if (versions.length === 0) return { rows: 0, bytes: 0 };
    return this.db.transaction().execute(async (trx) => {
      const live = await sql<{ version: number }>`
        select version from _reflow_live where dataset = ${dataset} and version = any(${[...versions]}::bigint[]) order by version`.execute(trx);
      if (live.rows.length > 0) throw new Error(`version ${live.rows[0]!.version} of ${dataset} is live; nothing was deleted`);
      // Row bytes as stored (pg_column_size of each row): what the versions took, before VACUUM gives it back.
      const held = await sql<{ rows: number; bytes: number }>`
        select count(*) as rows, coalesce(sum(pg_column_size(t.*)), 0) as bytes from ${sql.id(rowsTable(dataset))} t
        where _version = any(${[...versions]}::bigint[])`.execute(trx);
      await deleteVersions(trx, dataset, versions);
      return { rows: held.rows[0]!.rows, bytes: held.rows[0]!.bytes };
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

async function deleteVersions(trx: Transaction<any>, dataset: string, versions: readonly number[]): Promise<void> {
  const list = sql`any(${[...versions]}::bigint[])`;
  // Version records first, locked: a fenced writer's chunk in flight commits before its rows are deleted (openVersion).
  await sql`select version from _reflow_versions where version = ${list} order by version for update`.execute(trx);
  const table = await sql<{ found: boolean }>`select to_regclass(${rowsTable(dataset)}) is not null as found`.execute(trx);
  if (table.rows[0]!.found) await sql`delete from ${sql.id(rowsTable(dataset))} where _version = ${list}`.execute(trx);
  await sql`delete from _reflow_versions where version = ${list}`.execute(trx);
}

/** Serializes DDL on one schema across processes; released when the transaction ends. */
async function ddlLock(trx: Transaction<any>, schema: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`reflow-warehouse:${schema}`}))`.execute(trx);
}

function tuple(values: readonly unknown[]): RawBuilder<unknown> {
  return sql`(${sql.join(values)})`;
}

function sqlType(column: ColumnSpec): string {
  switch (column.type) {
    case "text":
      return "text";
    case "json":
      // json, not jsonb: it keeps the text as written, so rows read back with their keys in order.
      return "json";
    case "integer":
      return "bigint";
    case "boolean":
      return "boolean";
    case "real":
      return "double precision";
  }
}

function toSql(value: unknown, column: ColumnSpec): unknown {
  if (value === undefined || value === null) return null;
  return column.type === "json" ? JSON.stringify(value) : value;
}

function fromSql(value: unknown, column: ColumnSpec): unknown {
  if (value === null) return column.nullable ? null : undefined;
  return value;
}
