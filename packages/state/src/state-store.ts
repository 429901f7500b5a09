import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { Kysely, Migrator, sql, SqliteAdapter, SqliteDialect, type DialectAdapter } from "kysely";
import { displayPath, redactUrl, ReflowError, type PostgresLocation, type StateLocation } from "@reflow/core";
import { STATE_MIGRATIONS, stateMigrationProvider } from "./migrations/index.js";
import { refillDatasetSummaries } from "./dataset-summaries.js";
import { recoverAfterCrash } from "./recover-hot-journal.js";
import type { StateDatabase } from "./state-schema.js";
import { StateReader } from "./state-reader.js";
import { StateLock } from "./state-lock.js";
import { StateWriter } from "./state-writer.js";
import { WorkQueue } from "./work-queue.js";

/** `subject` of the REFLOW_STATE_INCOMPATIBLE error a reader gets from a state that a writer would migrate. */
export const OLDER_SCHEMA = "older-schema";

export interface StateStore {
  readonly reader: StateReader;
  /** Absent on a read-only store. */
  readonly writer?: StateWriter;
  /** The writer lock; absent on a read-only store (read its holder with `reader.lockHolder()`). */
  readonly lock?: StateLock;
  /** The work queue of distributed runs; only on a writable PostgreSQL store. */
  readonly workQueue?: WorkQueue;
  /** The migrations opening it for writing applied, oldest first (none when it was current). */
  readonly migrated: readonly string[];
  close(): Promise<void>;
}

/** The migration the latest schema ends with. */
export const LATEST_STATE_MIGRATION = Object.keys(STATE_MIGRATIONS).at(-1)!;

/**
 * Opens the state store: a SQLite file (a path is one) or a schema in a
 * PostgreSQL database. Writers create it and migrate it to the latest schema;
 * readers never create or change anything, and a project that has no state yet
 * (nothing there, or a first migration that never committed) reads as empty
 * (`undefined`).
 */
export async function openStateStore(location: string | StateLocation, mode: "read" | "write"): Promise<StateStore | undefined> {
  const where: StateLocation = typeof location === "string" ? { type: "sqlite", path: location } : location;
  return where.type === "sqlite" ? openSqliteStateStore(where.path, mode) : openPostgresStateStore(where, mode);
}

async function openSqliteStateStore(file: string, mode: "read" | "write"): Promise<StateStore | undefined> {
  if (mode === "read" && !existsSync(file)) return undefined;
  if (mode === "write") mkdirSync(path.dirname(file), { recursive: true });
  const database = mode === "read" ? openSqliteReadOnly(file) : new Database(file);
  if (mode === "write") {
    database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
  }
  database.pragma("busy_timeout = 10000");
  database.pragma("foreign_keys = ON");
  const db = new Kysely<StateDatabase>({ dialect: new TransactionalDdlSqliteDialect({ database }) });
  const label = stateLabel({ type: "sqlite", path: file });
  let migrated: readonly string[] = [];
  try {
    if (mode === "write") {
      migrated = await migrate(db, label);
      if (migrated.includes(COMPACTING_MIGRATION)) compactAfterUpgrade(database);
    } else if ((await checkSchema(db, label, sqliteHasTable)) === "fresh") {
      // Created by a writer that stopped before its first migration committed: nothing in it yet.
      await db.destroy();
      return undefined;
    }
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    reader: new StateReader(db, database),
    ...(mode === "write" ? writerAndLock(new StateWriter(db, database), db) : {}),
    migrated,
    close: async () => {
      try {
        if (mode === "write") refillSummaries(database);
      } finally {
        if (mode === "write") leaveWalMode(database);
        await db.destroy();
      }
    },
  };
}

/**
 * The state in a PostgreSQL schema. `pg` is loaded only here, so a SQLite
 * project never needs it. None of SQLite's crash recovery applies (the server
 * recovers itself); readers run in read-only sessions.
 */
async function openPostgresStateStore(location: PostgresLocation, mode: "read" | "write"): Promise<StateStore | undefined> {
  const { connectPostgres } = await import("@reflow/postgres");
  const connection = await connectPostgres({ url: location.url, schema: location.schema, readOnly: mode === "read", role: "state", maxConnections: 10 });
  const db = connection.db as Kysely<StateDatabase>;
  const label = stateLabel(location);
  let migrated: readonly string[] = [];
  try {
    if (mode === "write") migrated = await migrate(db, label, location.schema);
    else if (!connection.schemaExists || (await checkSchema(db, label, postgresHasTable)) === "fresh") {
      await connection.close();
      return undefined;
    }
  } catch (error) {
    await connection.close();
    throw error;
  }
  return {
    reader: new StateReader(db),
    ...(mode === "write" ? { ...writerAndLock(new StateWriter(db), db), workQueue: new WorkQueue(db) } : {}),
    migrated,
    close: () => connection.close(),
  };
}

/** Where a state is, as messages name it: a path, or a URL without its password and the schema. */
export function stateLabel(location: StateLocation): string {
  return location.type === "sqlite" ? displayPath(location.path) : `${redactUrl(location.url)} (schema ${location.schema})`;
}

/**
 * The writer and its lock: while the lock is held, every write checks it still is (`StateWriter.fencedBy`);
 * once it is released, the writer refuses to write until it is taken again (`StateWriter.lockReleased`).
 */
function writerAndLock(writer: StateWriter, db: Kysely<StateDatabase>): { writer: StateWriter; lock: StateLock } {
  return { writer, lock: new StateLock(db, (holder, held) => (held ? writer.fencedBy(holder) : writer.lockReleased(holder))) };
}

/**
 * A writer killed in WAL mode leaves a write-ahead log that only a writable
 * connection can recover; a read-only one fails with SQLITE_READONLY_RECOVERY.
 * Recovering replays only what was committed (SQLite's own crash recovery), so
 * the state reads the same before and after: readers do it, then read-only.
 */
export function openSqliteReadOnly(file: string): Database.Database {
  const open = () => {
    const database = new Database(file, { readonly: true, fileMustExist: true });
    try {
      database.prepare("select count(*) from sqlite_master").get();
      return database;
    } catch (error) {
      database.close();
      throw error;
    }
  };
  try {
    return open();
  } catch (error) {
    if (!String((error as { code?: unknown }).code).startsWith("SQLITE_READONLY")) throw error;
    recoverAfterCrash(file);
    return open();
  }
}

/**
 * SQLite runs DDL inside transactions, but kysely's adapter does not claim it,
 * so its Migrator would run a migration statement by statement and a process
 * killed in the middle would leave a half-created schema. Claiming it makes
 * every pending migration one transaction: all of it or none.
 */
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new (class extends SqliteAdapter {
      override get supportsTransactionalDdl(): boolean {
        return true;
      }
    })();
  }
}

/**
 * Stores the summaries this writer's changes deleted, so the next plan reads
 * them instead of computing them. Only about speed: a state left without
 * them (a writer that died, or a refill that failed here) reads the same.
 */
function refillSummaries(database: Database.Database): void {
  try {
    refillDatasetSummaries(database);
  } catch (error) {
    // Any SQLite error (busy, a full disk, an I/O error) rolled the refill back and loses only speed; failing
    // the command would report an apply that completed as failed. Anything else is a bug, and is thrown.
    if (!String((error as { code?: unknown }).code).startsWith("SQLITE_")) throw error;
  }
}

/**
 * WAL lets readers run during an apply, but a WAL database makes every later
 * read-only open create `-wal`/`-shm` files. Switching back to a rollback
 * journal when the writer closes leaves one file at rest, so `plan` and
 * `status` really touch nothing. Another open connection makes the switch
 * fail harmlessly; the next writer retries.
 */
function leaveWalMode(database: Database.Database): void {
  try {
    database.pragma("journal_mode = DELETE");
  } catch {
    // busy: a reader is still attached; WAL mode stays until the next writer closes
  }
}

/**
 * Two writers opening a new state at once both start migrating; SQLite makes
 * the second fail at once with SQLITE_BUSY rather than wait (its read
 * transaction cannot become a write after the first committed). Retrying
 * then finds the migrations done.
 */
async function migrate(db: Kysely<StateDatabase>, label: string, schema?: string): Promise<string[]> {
  // Named on PostgreSQL: kysely looks for its tables in every schema, and would find another project's.
  const migrator = new Migrator({ db, provider: stateMigrationProvider, ...(schema ? { migrationTableSchema: schema } : {}) });
  let { error, results } = await migrator.migrateToLatest();
  for (let retry = 0; error && isBusy(error) && retry < 100; retry++) {
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    throw new ReflowError("REFLOW_STATE_INCOMPATIBLE", `${label}: cannot migrate the state store: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Rewrites every row of `tasks` and `partitions`: an upgraded file is packed once after it. */
const COMPACTING_MIGRATION = "0008-compact-version-rows";

/**
 * Migration 0008 shrinks every task and partition row, but SQLite keeps the
 * pages, half empty (a 20,000-version state grew 7% instead of shrinking).
 * VACUUM, which cannot run inside the migration's transaction, packs the file
 * once (on a new state it has next to nothing to do). It is only about size:
 * if a reader holds the file past busy_timeout, the state stays correct, only
 * larger until a `VACUUM` by hand.
 */
function compactAfterUpgrade(database: Database.Database): void {
  try {
    database.exec("vacuum");
  } catch {
    // busy: a reader kept the file open longer than busy_timeout; the state is complete without it
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === "string" && code.startsWith("SQLITE_BUSY")) || /database is locked/.test(String((error as Error).message));
}

/** "fresh": no migration ever committed; "current": readable; throws for a newer or older schema. */
async function checkSchema(db: Kysely<StateDatabase>, label: string, hasTable: (db: Kysely<StateDatabase>, name: string) => Promise<boolean>): Promise<"fresh" | "current"> {
  const applied = !(await hasTable(db, "kysely_migration")) ? [] : (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map((r) => r.name);
  const known = Object.keys(STATE_MIGRATIONS);
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new ReflowError("REFLOW_STATE_INCOMPATIBLE", `${label} was written by a newer reflow (migration ${unknown[0]}); upgrade reflow`);
  }
  if (applied.length === 0) return "fresh";
  if (applied.length < known.length) {
    throw new ReflowError("REFLOW_STATE_INCOMPATIBLE", `${label} was written by an older reflow; run \`reflow migrate\` to upgrade it (\`reflow apply\` also does)`, {
      subject: OLDER_SCHEMA,
    });
  }
  return "current";
}

async function sqliteHasTable(db: Kysely<StateDatabase>, name: string): Promise<boolean> {
  return (await sql`select 1 from sqlite_master where type = 'table' and name = ${name}`.execute(db)).rows.length > 0;
}

/** In the connection's schema (its search_path). */
async function postgresHasTable(db: Kysely<StateDatabase>, name: string): Promise<boolean> {
  return (await sql`select 1 from information_schema.tables where table_schema = current_schema() and table_name = ${name}`.execute(db)).rows.length > 0;
}
