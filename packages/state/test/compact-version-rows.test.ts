import { mkdtempSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Kysely, Migrator, sql, SqliteDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresLocation } from "@reflow/core";
import { connectPostgres } from "@reflow/postgres";
import { createTestDatabase, postgresUnavailable, type TestDatabase } from "../../../test/support/postgres-server.js";
import { stateMigrationProvider } from "../src/migrations/index.js";
import { openStateStore, StateReader, type StateDatabase } from "../src/index.js";

const unavailable = await postgresUnavailable();

/** A state at schema 0007, open for writing rows as reflow at that schema wrote them, on one dialect. */
interface OldState {
  readonly db: Kysely<any>;
  /** SQLite: the connection under `db`, which the reader uses for snapshots. */
  readonly database?: Database.Database;
  readonly location: string | PostgresLocation;
  close(): Promise<void>;
}

// Rows as the 0007 writer left them: times are `toISOString()` text. Three runs: a first apply
// (a failure and a warning among them), a second apply (a rebuild, an early cutoff, a block), then
// `gc` purged the replaced version 2 and a rollback put version 1 of events/2024-01-01 back.
const RUNS = [
  { command: "apply", as_of: "2024-01-06T00:00:00.000Z", started_at: "2024-01-06T10:00:00.000Z", finished_at: "2024-01-06T10:00:03.000Z", status: "failed", host: "h", pid: 1, tasks_total: 4 },
  { command: "apply", as_of: "2024-01-06T00:00:00.000Z", started_at: "2024-02-29T23:59:58.000Z", finished_at: "2024-03-01T00:00:00.001Z", status: "succeeded", host: "h", pid: 2, tasks_total: 4 },
  { command: "rollback", as_of: "2024-03-02T08:00:00.000Z", started_at: "2024-03-02T08:00:00.000Z", finished_at: "2024-03-02T08:00:00.600Z", status: "succeeded", host: "h", pid: 3, tasks_total: 0 },
];
const task = (id: number, run_id: number, dataset: string, partition: string, reason: string, status: string, fingerprint: string, rest: Record<string, unknown>) => ({
  id,
  run_id,
  dataset,
  partition,
  reason,
  status,
  fingerprint,
  inputs: null,
  row_count: null,
  content_hash: null,
  error: null,
  started_at: null,
  finished_at: null,
  warnings: null,
  attempts: null,
  source_version: null,
  purged_at: null,
  incomplete: null,
  ...rest,
});
const HASH = "3-00112233445566778899aabbccddeeff";
const TASKS = [
  task(1, 1, "events", "2024-01-01", "missing", "succeeded", "e1", { inputs: "{}", row_count: 3, content_hash: HASH, finished_at: "2024-01-06T10:00:01.234Z", attempts: 1, source_version: "v:1" }),
  task(2, 1, "events", "2024-01-02", "missing", "succeeded", "e1", { inputs: "{}", row_count: 0, content_hash: "0-0", finished_at: "2024-01-06T10:00:01.999Z", attempts: 1, purged_at: "2024-03-01T12:30:00.000Z" }),
  task(3, 1, "daily", "2024-01-01", "missing", "succeeded", "d1", { inputs: '{"events":{"2024-01-01":1}}', row_count: 1, content_hash: "1-ab", finished_at: "2024-01-06T10:00:02.000Z", warnings: '["few rows"]', attempts: 2, incomplete: 1 }),
  task(4, 1, "daily", "2024-01-02", "missing", "failed", "d1", { error: "boom", started_at: "2024-01-06T10:00:02.010Z", finished_at: "2024-01-06T10:00:02.500Z", attempts: 3 }),
  task(5, 2, "events", "2024-01-01", "code-changed", "succeeded", "e2", { inputs: "{}", row_count: 4, content_hash: "4-cd", finished_at: "2024-02-29T23:59:59.999Z", attempts: 1 }),
  task(6, 2, "daily", "2024-01-01", "upstream-changed", "unchanged", "d1", { inputs: '{"events":{"2024-01-01":5}}', finished_at: "2024-03-01T00:00:00.000Z" }),
  task(7, 2, "events", "2024-01-02", "code-changed", "succeeded", "e2", { inputs: "{}", row_count: 2, content_hash: "2-ef", finished_at: "2024-03-01T00:00:00.000Z", attempts: 1 }),
  task(8, 2, "daily", "2024-01-02", "missing", "blocked", "d1", { error: "an input failed", finished_at: "2024-03-01T00:00:00.001Z" }),
];
const PARTITIONS = [
  { dataset: "daily", partition: "2024-01-01", status: "built", live_task_id: 3, last_task_id: 6, inputs_task_id: 6, accepted_fingerprint: "d2", updated_at: "2024-03-01T00:00:00.000Z" },
  { dataset: "daily", partition: "2024-01-02", status: "failed", live_task_id: null, last_task_id: 4, inputs_task_id: null, accepted_fingerprint: null, updated_at: "2024-01-06T10:00:02.500Z" },
  { dataset: "events", partition: "2024-01-01", status: "built", live_task_id: 1, last_task_id: 5, inputs_task_id: null, accepted_fingerprint: null, updated_at: "2024-03-02T08:00:00.599Z" },
  { dataset: "events", partition: "2024-01-02", status: "built", live_task_id: 7, last_task_id: 7, inputs_task_id: null, accepted_fingerprint: null, updated_at: "2024-03-01T00:00:00.000Z" },
];
const TIME_COLUMNS = ["started_at", "finished_at", "purged_at", "updated_at"];

async function writeOldState(state: OldState, tasks: readonly Record<string, unknown>[] = TASKS): Promise<void> {
  const { db } = state;
  const { error } = await new Migrator({ db, provider: stateMigrationProvider, ...(typeof state.location === "string" ? {} : { migrationTableSchema: state.location.schema }) }).migrateTo(
    "0007-work-queue",
  );
  if (error) throw error;
  await db.insertInto("runs").values(RUNS).execute();
  // In id order, ids left to the database (as the writer did), so its id sequence moves on as in a real state.
  await db.insertInto("tasks").values(tasks.map(({ id: _, ...row }) => row)).execute();
  expect((await db.selectFrom("tasks").select("id").orderBy("id").execute()).map((t) => t.id)).toEqual(tasks.map((t) => t.id));
  await db.insertInto("partitions").values(PARTITIONS).execute();
  await db
    .insertInto("datasets")
    .values([
      { name: "events", kind: "source", fingerprint: "e2", metadata: null, updated_at: "2024-03-01T00:00:00.001Z", last_run_id: 2 },
      { name: "daily", kind: "dataset", fingerprint: "d1", metadata: '{"owner":"x"}', updated_at: "2024-03-01T00:00:00.001Z", last_run_id: 2 },
    ])
    .execute();
  await db
    .insertInto("rollbacks")
    .values({ run_id: 3, dataset: "events", partition: "2024-01-01", from_version: 5, to_version: 1, code_fingerprint: "e2", pinned: 1, status: "succeeded" })
    .execute();
}

/** What every reader query an upgrade could disturb returns: snapshot, history, a version, status, runs. */
async function readAll(reader: StateReader) {
  const snapshot = await reader.snapshot();
  return {
    datasets: [...snapshot.datasets],
    partitions: [...snapshot.partitions].map(([dataset, byKey]) => [dataset, [...byKey]]),
    history: [await reader.versionHistory("events"), await reader.versionHistory("daily")],
    versions: await Promise.all([1, 2, 3, 4, 5, 6, 7, 8, 9].map((id) => reader.version(id))),
    status: [...(await reader.datasetStatus())],
    runs: await reader.runs(),
    liveBeforeRun: [...(await reader.liveBeforeRun("events", 3))],
  };
}

/** Every row of a table, in order. */
async function rows(db: Kysely<any>, table: string, orderBy: string[]) {
  let query = db.selectFrom(table).selectAll();
  for (const column of orderBy) query = query.orderBy(column);
  return query.execute();
}

const dialects = [
  {
    name: "SQLite",
    skip: undefined as string | undefined,
    async open(): Promise<OldState> {
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-0008-")), "state.db");
      const database = new Database(file);
      const db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
      return { db, database, location: file, close: () => db.destroy() };
    },
    async indexes(db: Kysely<any>): Promise<string[]> {
      const found = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'tasks' and sql is not null order by name`.execute(db);
      return found.rows.map((r) => r.name);
    },
  },
  {
    name: "PostgreSQL",
    skip: unavailable,
    async open(): Promise<OldState> {
      const location: PostgresLocation = { type: "postgres", url: database.url, schema: `state_${++schemas}` };
      const connection = await connectPostgres({ url: location.url, schema: location.schema, role: "state", maxConnections: 2 });
      return { db: connection.db, location, close: () => connection.close() };
    },
    async indexes(db: Kysely<any>): Promise<string[]> {
      const found = await sql<{ indexname: string }>`select indexname from pg_indexes where schemaname = current_schema() and tablename = 'tasks' and indexname <> 'tasks_pkey' order by indexname`.execute(db);
      return found.rows.map((r) => r.indexname);
    },
  },
];

let database: TestDatabase;
let schemas = 0;
beforeAll(async () => {
  if (!unavailable) database = await createTestDatabase();
});
afterAll(async () => database?.drop());

describe.each(dialects)("migration 0008 (compact version rows) on $name", (dialect) => {
  it.skipIf(dialect.skip !== undefined)(`upgrades a state written at schema 0007: times become exact milliseconds and every read is unchanged${dialect.skip ? ` (skipped: ${dialect.skip})` : ""}`, async () => {
    const old = await dialect.open();
    await writeOldState(old);
    const before = await readAll(new StateReader(old.db as Kysely<StateDatabase>, old.database));
    const untouched = { runs: await rows(old.db, "runs", ["id"]), datasets: await rows(old.db, "datasets", ["name"]), rollbacks: await rows(old.db, "rollbacks", ["id"]) };
    expect(await dialect.indexes(old.db)).toEqual(["tasks_by_partition", "tasks_by_run"]);
    await old.close();

    const store = (await openStateStore(old.location, "write"))!;
    const after = await readAll(store.reader);
    expect(after).toEqual(before);
    // The reads hand out the very text that was stored.
    expect(after.history[0]!.map((v) => [v.version, v.builtAt, v.live])).toEqual([
      [5, "2024-02-29T23:59:59.999Z", false],
      [1, "2024-01-06T10:00:01.234Z", true],
      [7, "2024-03-01T00:00:00.000Z", true],
    ]);
    expect(after.versions[3]).toEqual({ runId: 1, finishedAt: "2024-01-06T10:00:02.500Z" });
    expect(after.versions[8]).toBeUndefined();

    // New writes land in the upgraded tables.
    const { runId, taskIds } = await store.writer!.beginRun("apply", new Date("2024-03-03T00:00:00Z"), [
      { dataset: "events", partition: "2024-01-03", reason: "missing", fingerprint: "e2" },
    ]);
    const writtenFrom = Date.now();
    await store.writer!.taskBuilt(taskIds[0]!, { inputs: {}, rowCount: 1, contentHash: "1-01" });
    await store.writer!.taskSucceeded(taskIds[0]!, "events", "2024-01-03");
    await store.writer!.finishRun(runId, "succeeded", []);
    const built = await store.reader.version(taskIds[0]!);
    expect(Date.parse(built!.finishedAt!)).toBeGreaterThanOrEqual(writtenFrom);
    expect(Date.parse(built!.finishedAt!)).toBeLessThanOrEqual(Date.now());
    await store.close();

    const check = await reopen(old.location);
    try {
      const ms = (value: unknown) => (value === null ? null : Date.parse(value as string));
      const asMilliseconds = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, TIME_COLUMNS.includes(k) ? ms(v) : v]));
      expect((await rows(check.db, "tasks", ["id"])).slice(0, TASKS.length)).toEqual(TASKS.map(asMilliseconds));
      expect((await rows(check.db, "partitions", ["dataset", "partition"])).filter((p) => p.partition !== "2024-01-03")).toEqual(PARTITIONS.map(asMilliseconds));
      expect({ runs: (await rows(check.db, "runs", ["id"])).slice(0, 3), datasets: await rows(check.db, "datasets", ["name"]), rollbacks: await rows(check.db, "rollbacks", ["id"]) }).toEqual(untouched);
      expect(await dialect.indexes(check.db)).toEqual(["tasks_by_partition"]);
    } finally {
      await check.close();
    }
  });

  it.skipIf(dialect.skip !== undefined)(`refuses a time it cannot convert exactly, and leaves the state at 0007${dialect.skip ? ` (skipped: ${dialect.skip})` : ""}`, async () => {
    const old = await dialect.open();
    await writeOldState(old, TASKS.map((t) => (t.id === 6 ? { ...t, finished_at: "2024-03-01 00:00" } : t)));
    await old.close();
    await expect(openStateStore(old.location, "write")).rejects.toMatchObject({
      code: "REFLOW_STATE_INCOMPATIBLE",
      message: expect.stringContaining(`tasks.finished_at holds "2024-03-01 00:00", which is not a time as reflow writes them`),
    });
    const check = await reopen(old.location);
    try {
      const applied = await check.db.selectFrom("kysely_migration").select("name").orderBy("name").execute();
      expect(applied.map((m) => m.name).at(-1)).toBe("0007-work-queue");
      expect((await rows(check.db, "tasks", ["id"])).map((t) => t.finished_at)).toEqual(TASKS.map((t) => (t.id === 6 ? "2024-03-01 00:00" : t.finished_at)));
      expect(await dialect.indexes(check.db)).toEqual(["tasks_by_partition", "tasks_by_run"]);
    } finally {
      await check.close();
    }
  });
});

describe("migration 0008 on SQLite", () => {
  it("packs the upgraded file: it ends smaller than at 0007, with no free pages", async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-0008-")), "state.db");
    const database = new Database(file);
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
    // Enough versions to fill many pages: 3,000 built days of one more dataset.
    const bulk = Array.from({ length: 3000 }, (_, i) => {
      const day = new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString();
      return task(TASKS.length + 1 + i, 2, "bulk", day.slice(0, 10), "missing", "succeeded", "0123456789abcdef0123456789abcdef", {
        inputs: "{}",
        row_count: 1,
        content_hash: HASH,
        finished_at: day.replace("T00:00:00.000", `T12:34:56.${String(i % 1000).padStart(3, "0")}`),
        attempts: 1,
      });
    });
    const state: OldState = { db, database, location: file, close: () => db.destroy() };
    await writeOldState(state, TASKS);
    for (let i = 0; i < bulk.length; i += 500) await db.insertInto("tasks").values(bulk.slice(i, i + 500).map(({ id: _, ...row }) => row)).execute();
    for (let i = 0; i < bulk.length; i += 500) {
      await db
        .insertInto("partitions")
        .values(bulk.slice(i, i + 500).map((t) => ({ dataset: "bulk", partition: t.partition, status: "built", live_task_id: t.id, last_task_id: t.id, updated_at: t.finished_at })))
        .execute();
    }
    await state.close();
    const before = statSync(file).size;

    await (await openStateStore(file, "write"))!.close();
    const after = new Database(file, { readonly: true });
    try {
      expect(after.pragma("freelist_count", { simple: true })).toBe(0);
      expect(statSync(file).size).toBeLessThan(before);
      expect(after.prepare("select finished_at from tasks where id = ?").pluck().get(TASKS.length + 1000)).toBe(Date.parse(String(bulk[999]!.finished_at)));
    } finally {
      after.close();
    }
  });
});

/** A plain connection to a state, to look at its rows. */
async function reopen(location: string | PostgresLocation): Promise<{ db: Kysely<any>; close(): Promise<void> }> {
  if (typeof location === "string") {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(location, { readonly: true }) }) });
    return { db, close: () => db.destroy() };
  }
  const connection = await connectPostgres({ url: location.url, schema: location.schema, role: "state", maxConnections: 1 });
  return { db: connection.db, close: () => connection.close() };
}
