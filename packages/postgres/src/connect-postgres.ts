import { Kysely, PostgresDialect, sql } from "kysely";
import type pg from "pg";
import { redactSecrets, redactUrl, ReflowError } from "@reflow/core";
import { loadPgDriver } from "./pg-driver.js";

export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database`; shown only through `redactUrl`. */
  readonly url: string;
  /** Every unqualified name resolves here (search_path); a plain lower-case identifier. */
  readonly schema: string;
  /**
   * Read-only sessions (`default_transaction_read_only`), and the schema is
   * not created: a reader never changes the database.
   */
  readonly readOnly?: boolean;
  /** What the connection is for, in error messages: `state`, `warehouse`. */
  readonly role: string;
  /** Pool size (default 10). */
  readonly maxConnections?: number;
}

/** A kysely over a pg pool, on one schema. `schemaExists` is false for a reader of a schema nobody created yet. */
export interface PostgresConnection {
  readonly db: Kysely<any>;
  /** The pool under `db`, for what kysely does not return (a result's column names and types). */
  readonly pool: pg.Pool;
  readonly schemaExists: boolean;
  readonly url: string;
  close(): Promise<void>;
}

// int8 (count(*), bigint columns) and numeric (sum()) come back as strings by
// default; reflow's numbers fit a double, so they are parsed as numbers.
const INT8 = 20;
const NUMERIC = 1700;
function typesOf(driver: typeof pg) {
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === INT8 || oid === NUMERIC ? (value: string) => Number(value) : driver.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
}

/**
 * Connects to PostgreSQL and checks the server answers, so that an
 * unreachable server is one clear `REFLOW_STORAGE_UNAVAILABLE` error (with
 * the password redacted) rather than a driver error in the middle of a run.
 * Writers create the schema if it is missing.
 */
export async function connectPostgres(options: PostgresConnectionOptions): Promise<PostgresConnection> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`invalid schema name ${JSON.stringify(options.schema)}`);
  const driver = await loadPgDriver();
  const pool = new driver.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    types: typesOf(driver),
    application_name: "reflow",
    options: `-c search_path=${options.schema}${options.readOnly ? " -c default_transaction_read_only=on" : ""}`,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  // Nor may a client in use: besides failing its query (which reports it) it emits 'error', which
  // pg-pool listens to only while the client is idle. The pool drops the dead client when it is released.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (!options.readOnly) await createSchema(db, options.schema);
    const exists = await sql<{ found: boolean }>`select exists (select 1 from pg_namespace where nspname = ${options.schema}) as found`.execute(db);
    return { db, pool, schemaExists: exists.rows[0]!.found, url: options.url, close: () => db.destroy() };
  } catch (error) {
    await db.destroy();
    throw storageUnavailable(options, error);
  }
}

/** `REFLOW_STORAGE_UNAVAILABLE` for a failure to reach or use the server, never showing the password. */
export function storageUnavailable(options: Pick<PostgresConnectionOptions, "url" | "role">, error: unknown): ReflowError {
  const message = redactSecrets(describe(error), options.url);
  return new ReflowError("REFLOW_STORAGE_UNAVAILABLE", `${options.role}: cannot use PostgreSQL at ${redactUrl(options.url)}: ${message}`, { subject: options.role });
}

async function createSchema(db: Kysely<any>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two processes creating it at once: the loser sees a duplicate, which is what it wanted.
    if ((error as { code?: string }).code !== "23505" && (error as { code?: string }).code !== "42P06") throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  const text = error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
  return text;
}
