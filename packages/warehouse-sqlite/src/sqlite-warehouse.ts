import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { ColumnSpec, FreedSpace, PartitionVersionRef, Row, SqlWarehouse, StoredVersion, VersionWriter, Warehouse, WarehouseTable } from "@reflow/core";
import { fromSql, literal, quote, rowsTable, sqlType, toSql } from "./sqlite-columns.js";
import { CommitQueue } from "./commit-queue.js";
import { SqliteSqlWarehouse } from "./sqlite-sql-warehouse.js";

export interface SqliteWarehouseOptions {
  readonly path: string;
  /**
   * Opens an existing file without changing it (no schema, no journal mode):
   * for commands that only look, or look before they ask. A hot journal left
   * by a killed writer must be rolled back first (`recoverHotJournal` in @reflow/state).
   */
  readonly readOnly?: boolean;
}

/** Rows per page read: pages of 5,000 kept more rows alive for the garbage collector to copy, for no fewer statements worth having. */
const DEFAULT_BATCH = 1_000;
/** Rows per multi-row insert, within SQLite's historical limit of 999 parameters per statement. */
const MULTI_ROW_INSERT = 100;
const MAX_PARAMETERS = 999;

/** How a dataset's columns map to and from SQLite values. */
interface ColumnConversions {
  readonly names: readonly string[];
  /** The columns whose values convert (booleans, JSON); undefined where a value is stored as it is. */
  readonly convert: readonly (ColumnSpec | undefined)[];
  readonly keepNull: readonly (boolean | undefined)[];
}

function columnConversions(columns: readonly ColumnSpec[]): ColumnConversions {
  return {
    names: columns.map((c) => c.name),
    convert: columns.map((c) => (c.type === "boolean" || c.type === "json" ? c : undefined)),
    keepNull: columns.map((c) => c.nullable),
  };
}

/** The statements inserting one dataset's rows. */
interface RowWriter extends ColumnConversions {
  /** The column list they were made for: another list (a column added) makes new ones. */
  readonly columns: readonly ColumnSpec[];
  /** Values per row: `_partition`, `_version`, then the columns. */
  readonly width: number;
  readonly perStatement: number;
  readonly insertMany: Database.Statement;
  readonly insertOne: Database.Statement;
}

/** The statement reading one dataset's rows a page at a time. */
interface RowReader extends ColumnConversions {
  readonly columns: readonly ColumnSpec[];
  readonly pageSize: number;
  readonly select: Database.Statement;
}

/**
 * The embedded warehouse: one SQLite file. Rows of every version of a
 * dataset live in `<name>__rows`, tagged with `_partition` and `_version`;
 * `_reflow_live` says which version of each partition is live; the view
 * `<name>` shows exactly the live rows. Publishing is one transaction over
 * `_reflow_live`, so readers switch from the old rows to the new in one step.
 * Publishing never deletes: older versions stay for rollback until `reflow gc`
 * drops them, under the writer lock and with the state told, so that state and
 * warehouse always agree on which versions exist.
 */
export class SqliteWarehouse implements Warehouse {
  private readonly db: Database.Database;
  private readonly prepared = new Set<string>();
  readonly sql: SqlWarehouse;
  /** Prepared once per SQL text: preparing cost more than running them at thousands of tasks a second. */
  private readonly statements = new Map<string, Database.Statement>();
  /** Each dataset's row statements, for its current column list. */
  private readonly rowWriters = new Map<string, RowWriter>();
  private readonly rowReaders = new Map<string, RowReader>();
  /** Versions opened or finished in the same turn (by concurrent tasks) commit together. */
  private readonly commits: CommitQueue;
  /** Runs `work` in a transaction: created once, since better-sqlite3 builds several closures per `transaction()`. */
  private readonly inTransaction: (work: () => void) => void;

  constructor(options: SqliteWarehouseOptions) {
    if (options.readOnly) {
      this.db = new Database(options.path, { readonly: true, fileMustExist: true });
      this.db.pragma("busy_timeout = 10000");
      this.commits = new CommitQueue(this.db);
      this.inTransaction = this.db.transaction((work: () => void) => work());
      this.sql = this.sqlRunner();
      return;
    }
    mkdirSync(path.dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 10000");
    this.db.exec(`
      create table if not exists _reflow_versions (
        version integer primary key,
        dataset text not null,
        partition text not null,
        row_count integer,
        state text not null,
        created_at text not null
      );
      create index if not exists _reflow_versions_by_partition on _reflow_versions (dataset, partition);
      create table if not exists _reflow_live (
        dataset text not null,
        partition text not null,
        version integer not null,
        primary key (dataset, partition)
      ) without rowid;
    `);
    this.commits = new CommitQueue(this.db);
    this.inTransaction = this.db.transaction((work: () => void) => work());
    this.sql = this.sqlRunner();
  }

  async prepare(table: WarehouseTable): Promise<void> {
    const rows = rowsTable(table.dataset);
    const existing = this.db.prepare(`select name from pragma_table_info(?)`).all(rows) as { name: string }[];
    this.db.transaction(() => {
      if (existing.length === 0) {
        const columns = table.columns.map((c) => `${quote(c.name)} ${sqlType(c)}`);
        this.db.exec(`create table ${quote(rows)} (_partition text not null, _version integer not null${columns.map((c) => `, ${c}`).join("")})`);
        this.db.exec(`create index ${quote(`${rows}_by_version`)} on ${quote(rows)} (_version)`);
      } else {
        const have = new Set(existing.map((c) => c.name));
        for (const column of table.columns) {
          if (!have.has(column.name)) this.db.exec(`alter table ${quote(rows)} add column ${quote(column.name)} ${sqlType(column)}`);
        }
      }
      const select = ["_partition", ...table.columns.map((c) => c.name)].map(quote).join(", ");
      this.db.exec(`drop view if exists ${quote(table.dataset)}`);
      this.db.exec(
        `create view ${quote(table.dataset)} as select ${select} from ${quote(rows)} where _version in (select version from _reflow_live where dataset = ${literal(table.dataset)})`,
      );
    })();
    this.prepared.add(table.dataset);
  }

  async openVersion(table: WarehouseTable, ref: PartitionVersionRef): Promise<VersionWriter> {
    await this.beginVersion(table, ref);
    const insertRows = this.rowInserter(table, ref);
    let count = 0;
    const writeBatch = (rows: readonly Row[]) =>
      this.inTransaction(() => {
        insertRows(rows);
        count += rows.length;
      });
    // The latest batch is held back until the next one or `finish`, so the last rows and the
    // version's `written` mark are one commit: for a small partition, one commit instead of two
    // (shared with the other versions finishing in this turn).
    let held: readonly Row[] | undefined;
    return {
      write: async (rows) => {
        if (held) writeBatch(held);
        held = rows;
      },
      finish: async () => {
        const last = held;
        held = undefined;
        // Re-runnable (the queue may run it twice): nothing outside the database changes.
        await this.commits.run(() => {
          if (last) insertRows(last);
          this.finishVersion(ref.version, count + (last?.length ?? 0));
        });
      },
      abort: async () => {
        held = undefined;
        this.deleteVersions(table.dataset, [ref.version]);
      },
    };
  }

  async publish(dataset: string, refs: readonly PartitionVersionRef[]): Promise<void> {
    const upsertLive = this.statement(
      `insert into _reflow_live (dataset, partition, version) values (?, ?, ?) on conflict (dataset, partition) do update set version = excluded.version`,
    );
    const markState = this.statement(`update _reflow_versions set state = ? where version = ?`);
    const currentLive = this.statement(`select version from _reflow_live where dataset = ? and partition = ?`).pluck();
    const stateOf = this.statement(`select state from _reflow_versions where version = ? and dataset = ? and partition = ?`).pluck();
    this.inTransaction(() => {
      for (const ref of refs) {
        const state = stateOf.get(ref.version, dataset, ref.partition) as string | undefined;
        if (state === undefined || state === "writing") {
          throw new Error(`the warehouse has no finished version ${ref.version} of ${dataset} ${ref.partition}; nothing was published`);
        }
        const previous = currentLive.get(dataset, ref.partition) as number | undefined;
        if (previous !== undefined && previous !== ref.version) markState.run("retired", previous);
        upsertLive.run(dataset, ref.partition, ref.version);
        markState.run("live", ref.version);
      }
    });
  }

  async *read(table: WarehouseTable, refs: readonly PartitionVersionRef[], batchSize = DEFAULT_BATCH): AsyncIterable<Row[]> {
    // Reading no partitions is how a reader sees an input that has none yet (a month not complete),
    // whose table may never have been created: preparing the select would fail.
    if (refs.length === 0) return;
    const { select, names, convert, keepNull } = this.rowReader(table, batchSize);
    // Paged rather than iterated: an open iterator would lock the connection against concurrent writes.
    for (const ref of refs) {
      let after = 0;
      for (;;) {
        const page = select.all(ref.version, after) as unknown[][];
        if (page.length === 0) break;
        after = page[page.length - 1]![0] as number;
        const rows: Row[] = new Array(page.length);
        for (let r = 0; r < page.length; r++) {
          const raw = page[r]!;
          const row: Row = {};
          for (let c = 0; c < names.length; c++) {
            const value = raw[c + 1];
            if (value === null) {
              if (keepNull[c]) row[names[c]!] = null;
            } else {
              const column = convert[c];
              row[names[c]!] = column ? fromSql(value, column) : value;
            }
          }
          rows[r] = row;
        }
        yield rows;
        if (page.length < batchSize) break;
      }
    }
  }

  async liveVersions(dataset: string): Promise<Map<string, number>> {
    const rows = this.db.prepare(`select partition, version from _reflow_live where dataset = ?`).all(dataset) as { partition: string; version: number }[];
    return new Map(rows.map((r) => [r.partition, r.version]));
  }

  async storedVersions(dataset?: string): Promise<StoredVersion[]> {
    const rows = this.db
      .prepare(
        `select dataset, partition, version, state, row_count as rowCount from _reflow_versions ${dataset === undefined ? "" : "where dataset = ?"} order by dataset, partition, version`,
      )
      .all(...(dataset === undefined ? [] : [dataset])) as StoredVersion[];
    return rows;
  }

  async dropVersions(dataset: string, versions: readonly number[]): Promise<FreedSpace> {
    if (versions.length === 0) return { rows: 0, bytes: 0 };
    const rows = rowsTable(dataset);
    const live = this.db.prepare(`select 1 from _reflow_live where dataset = ? and version = ?`).pluck();
    // dbstat's payload is the bytes each table and index stores, so the difference is exactly what the versions took.
    const stored = this.db.prepare(`select coalesce(sum(payload), 0) from dbstat where name in (?, ?)`).pluck();
    const count = this.db.prepare(`select count(*) from ${quote(rows)} where _version = ?`).pluck();
    return this.db.transaction(() => {
      for (const version of versions) {
        if (live.get(dataset, version)) throw new Error(`version ${version} of ${dataset} is live; nothing was deleted`);
      }
      const before = stored.get(rows, `${rows}_by_version`) as number;
      let deleted = 0;
      for (const version of versions) deleted += count.get(version) as number;
      this.deleteVersions(dataset, versions);
      return { rows: deleted, bytes: before - (stored.get(rows, `${rows}_by_version`) as number) };
    })();
  }

  async close(): Promise<void> {
    // Back to a rollback journal at rest, so other tools reading warehouse.db
    // (the sqlite3 shell, a BI tool) do not leave -wal/-shm files behind.
    try {
      this.db.pragma("journal_mode = DELETE");
    } catch {
      // another connection is open; WAL stays until the next close
    }
    this.db.close();
  }

  /**
   * Inserts rows of one version, `MULTI_ROW_INSERT` rows per statement: a
   * statement call per row cost more than SQLite's own work for narrow rows.
   */
  private rowInserter(table: WarehouseTable, ref: PartitionVersionRef): (rows: readonly Row[]) => void {
    const { width, perStatement, insertMany, insertOne, names, convert } = this.rowWriter(table);
    const many: unknown[] = new Array(width * perStatement);
    const one: unknown[] = new Array(width);
    const fill = (values: unknown[], offset: number, row: Row) => {
      values[offset] = ref.partition;
      values[offset + 1] = ref.version;
      for (let c = 0; c < names.length; c++) {
        const value = row[names[c]!];
        const column = convert[c];
        values[offset + 2 + c] = value === undefined || value === null ? null : column ? toSql(value, column) : value;
      }
    };
    return (rows) => {
      let r = 0;
      for (; r + perStatement <= rows.length; r += perStatement) {
        for (let k = 0; k < perStatement; k++) fill(many, k * width, rows[r + k]!);
        insertMany.run(many);
      }
      for (; r < rows.length; r++) {
        fill(one, 0, rows[r]!);
        insertOne.run(one);
      }
    };
  }

  /**
   * A table's row insert statements, made once per dataset and column list: building the
   * 100-row insert's text and looking its statement up by that text, per version, cost
   * more than inserting a one-row partition.
   */
  private rowWriter(table: WarehouseTable): RowWriter {
    const cached = this.rowWriters.get(table.dataset);
    if (cached !== undefined && cached.columns === table.columns) return cached;
    const columns = table.columns;
    const rows = quote(rowsTable(table.dataset));
    const width = columns.length + 2;
    const perStatement = Math.max(1, Math.min(MULTI_ROW_INSERT, Math.floor(MAX_PARAMETERS / width)));
    const insertSql = (count: number) =>
      `insert into ${rows} (_partition, _version${columns.map((c) => `, ${quote(c.name)}`).join("")}) values ${Array.from({ length: count }, () => `(?, ?${", ?".repeat(columns.length)})`).join(", ")}`;
    const made: RowWriter = {
      columns,
      width,
      perStatement,
      insertMany: this.statement(insertSql(perStatement)),
      insertOne: this.statement(insertSql(1)),
      ...columnConversions(columns),
    };
    this.rowWriters.set(table.dataset, made);
    return made;
  }

  /**
   * A table's paged select, made once per dataset, column list and page size (as `rowWriter`).
   * The page size is written into the SQL, not bound: SQLite plans with a LIMIT's value, so
   * binding it (even the same value again) re-prepared the statement at every step, which cost
   * three times the one-row read itself.
   */
  private rowReader(table: WarehouseTable, pageSize: number): RowReader {
    if (!Number.isSafeInteger(pageSize) || pageSize < 0) throw new Error(`the page size to read must be a whole number of rows, not ${pageSize}`);
    const cached = this.rowReaders.get(table.dataset);
    if (cached !== undefined && cached.columns === table.columns && cached.pageSize === pageSize) return cached;
    const columns = table.columns;
    const made: RowReader = {
      columns,
      pageSize,
      // Rows as arrays (`raw`): better-sqlite3 builds an array per row faster than an object, and the
      // object the transform sees is built once, in `read`, converting only the values that need it.
      select: this.statement(
        `select rowid${columns.map((c) => `, ${quote(c.name)}`).join("")} from ${quote(rowsTable(table.dataset))} where _version = ? and rowid > ? order by rowid limit ${pageSize}`,
      ).raw(true),
      ...columnConversions(columns),
    };
    this.rowReaders.set(table.dataset, made);
    return made;
  }

  /** Prepares the dataset's storage if needed and registers a version being written. */
  private async beginVersion(table: WarehouseTable, ref: PartitionVersionRef): Promise<void> {
    if (!this.prepared.has(table.dataset)) await this.prepare(table);
    const insert = this.statement(`insert into _reflow_versions (version, dataset, partition, row_count, state, created_at) values (?, ?, ?, null, 'writing', ?)`);
    const createdAt = new Date().toISOString();
    // Committed before the caller streams any row, so gc finds the version if the process dies meanwhile.
    await this.commits.run(() => insert.run(ref.version, table.dataset, ref.partition, createdAt));
  }

  private finishVersion(version: number, rowCount: number): void {
    this.statement(`update _reflow_versions set row_count = ?, state = 'written' where version = ?`).run(rowCount, version);
  }

  private sqlRunner(): SqlWarehouse {
    return new SqliteSqlWarehouse({
      db: this.db,
      statement: (sql) => this.statement(sql),
      beginVersion: (table, ref) => this.beginVersion(table, ref),
      finishVersion: (version, rowCount) => this.finishVersion(version, rowCount),
      abortVersion: (dataset, version) => this.deleteVersions(dataset, [version]),
    });
  }

  /** The SQL's prepared statement, prepared on first use; SQLite re-prepares it itself if the schema changes. */
  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  private deleteVersions(dataset: string, versions: readonly number[]): void {
    if (versions.length === 0) return;
    const rows = rowsTable(dataset);
    const deleteRows = this.statement(`delete from ${quote(rows)} where _version = ?`);
    const deleteVersion = this.statement(`delete from _reflow_versions where version = ?`);
    for (const version of versions) {
      deleteRows.run(version);
      deleteVersion.run(version);
    }
  }
}
