import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * The PostgreSQL server tests use: REFLOW_TEST_PG_URL, or the one `.ci/run`
 * starts (or finds) on 127.0.0.1:5432. Tests make their own database on it.
 */
export const TEST_SERVER_URL = process.env.REFLOW_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let reachable: Promise<string | undefined> | undefined;

/**
 * Why PostgreSQL tests cannot run here (undefined when a server answers).
 * Said once with console.warn, so a skipped suite is never silent.
 */
export function postgresUnavailable(): Promise<string | undefined> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_SERVER_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query("select 1");
      return undefined;
    } catch (error) {
      const reason = `no PostgreSQL server answers at ${redact(TEST_SERVER_URL)} (${(error as Error).message || (error as { code?: string }).code}); PostgreSQL tests are skipped`;
      console.warn(`SKIPPED: ${reason}`);
      return reason;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

/** A fresh, empty database on the test server; `drop()` removes it (and ends its sessions). */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `reflow_test_${randomBytes(6).toString("hex")}`;
  await admin(`create database ${name}`);
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

// count(*) and bigint columns as numbers, as reflow itself reads them.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/** Runs SQL on a database of the test server, from a client of its own. */
export async function queryDatabase<T = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, types });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

async function admin(text: string): Promise<void> {
  await queryDatabase(TEST_SERVER_URL, text);
}

function redact(url: string): string {
  return url.replace(/:\/\/([^:/@]*):[^@]*@/, "://$1:***@");
}
