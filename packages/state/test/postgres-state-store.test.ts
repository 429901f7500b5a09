import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresLocation } from "@reflow/core";
import { createTestDatabase, postgresUnavailable, queryDatabase, type TestDatabase } from "../../../test/support/postgres-server.js";
import { openStateStore } from "../src/index.js";

const unavailable = await postgresUnavailable();
const asOf = new Date("2024-01-06T00:00:00Z");

describe.skipIf(unavailable !== undefined)(`state store on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let database: TestDatabase;
  let schemas = 0;
  /** A schema of its own per test, in one database per file. */
  const location = (): PostgresLocation => ({ type: "postgres", url: database.url, schema: `state_${++schemas}` });
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());

  it("reads a state nobody created as absent, creating nothing", async () => {
    const where = location();
    expect(await openStateStore(where, "read")).toBeUndefined();
    expect(await queryDatabase(database.url, "select nspname from pg_namespace where nspname = $1", [where.schema])).toEqual([]);
  });

  it("migrates, records runs and tasks with never-reused ids, and reads them back read-only", async () => {
    const where = location();
    const store = (await openStateStore(where, "write"))!;
    const writer = store.writer!;
    const { runId, taskIds } = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
    ]);
    expect([runId, taskIds]).toEqual([1, [1, 2]]);
    await writer.taskBuilt(1, { inputs: {}, rowCount: 3, contentHash: "h1" });
    await writer.taskSucceeded(1, "events", "2024-01-01");
    await writer.taskFailed(2, "events", "2024-01-02", "boom");
    await writer.finishRun(runId, "failed", [{ name: "events", kind: "source", fingerprint: "e1" }]);
    await store.close();

    const reader = (await openStateStore(where, "read"))!;
    expect(reader.writer).toBeUndefined();
    const snapshot = await reader.reader.snapshot();
    expect(snapshot.partitions.get("events")).toEqual(
      new Map([
        ["2024-01-01", { status: "built", liveVersion: 1, liveRun: 1, fingerprint: "e1", inputs: {}, rowCount: 3, contentHash: "h1" }],
        ["2024-01-02", { status: "failed", liveVersion: null, fingerprint: null, inputs: {}, rowCount: null, contentHash: null }],
      ]),
    );
    expect(await reader.reader.datasetStatus()).toMatchObject(new Map([["events", { built: 1, failed: 1, lastRun: { id: 1, status: "failed" } }]]));
    await reader.close();

    const tables = await queryDatabase<{ table_name: string }>(
      database.url,
      "select table_name from information_schema.tables where table_schema = $1 order by table_name",
      [where.schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      "datasets",
      "fingerprint_sources",
      "fingerprints",
      "kysely_migration",
      "kysely_migration_lock",
      "locks",
      "partitions",
      "rollbacks",
      "runs",
      "task_attempts",
      "tasks",
      "work_queue",
    ]);
  });

  it("lets two writers create a new state at once", async () => {
    const where = location();
    const stores = await Promise.all([openStateStore(where, "write"), openStateStore(where, "write")]);
    expect(await stores[0]!.reader.runs()).toEqual([]);
    expect(await stores[1]!.reader.runs()).toEqual([]);
    await Promise.all(stores.map((s) => s!.close()));
  });

  it("refuses a state written by a newer reflow", async () => {
    const where = location();
    await (await openStateStore(where, "write"))!.close();
    await queryDatabase(database.url, `insert into ${where.schema}.kysely_migration (name, timestamp) values ('9999-future', 'x')`);
    await expect(openStateStore(where, "read")).rejects.toMatchObject({
      code: "REFLOW_STATE_INCOMPATIBLE",
      message: `${database.url} (schema ${where.schema}) was written by a newer reflow (migration 9999-future); upgrade reflow`,
    });
  });

  it("locks across machines: a live holder on another host refuses, an expired lease is taken over", async () => {
    const where = location();
    const first = (await openStateStore(where, "write"))!;
    const second = (await openStateStore(where, "write"))!;
    const held = await first.lock!.acquire({ command: "apply --yes" });
    expect(held.holder).toMatchObject({ host: os.hostname(), pid: process.pid });
    await expect(second.lock!.acquire({ command: "apply" })).rejects.toMatchObject({ code: "REFLOW_LOCKED" });
    await held.release();

    // A holder on another host: its pid means nothing here, only its lease counts.
    const insert = `insert into ${where.schema}.locks (name, host, pid, command, acquired_at, lease_expires_at) values ('apply', 'another-host', $1, 'apply', $2, $3)`;
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await queryDatabase(database.url, insert, [2 ** 22 + 12_345, "2024-01-01T00:00:00.000Z", future]);
    await expect(second.lock!.acquire({ command: "apply", waitMs: 300 })).rejects.toMatchObject({
      code: "REFLOW_LOCKED",
      message: expect.stringContaining(`pid ${2 ** 22 + 12_345} on another-host`),
    });
    await queryDatabase(database.url, `update ${where.schema}.locks set lease_expires_at = '2024-01-01T00:01:00.000Z'`);
    const taken = await second.lock!.acquire({ command: "apply" });
    expect(taken.tookOverFrom).toMatchObject({ host: "another-host" });
    await taken.release();
    await first.close();
    await second.close();
  });
});
