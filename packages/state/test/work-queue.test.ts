import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgresLocation } from "@reflow/core";
import { createTestDatabase, postgresUnavailable, queryDatabase, type TestDatabase } from "../../../test/support/postgres-server.js";
import { openStateStore, WorkQueue, type StateStore } from "../src/index.js";

const unavailable = await postgresUnavailable();
const asOf = new Date("2024-01-06T00:00:00Z");
const E1 = { dataset: "events", fingerprint: "e1" };
const R1 = { dataset: "revenue", fingerprint: "r1" };

describe.skipIf(unavailable !== undefined)(`work queue on PostgreSQL${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let database: TestDatabase;
  let schemas = 0;
  const location = (): PostgresLocation => ({ type: "postgres", url: database.url, schema: `queue_${++schemas}` });
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());

  /** A fresh state with a running run whose coordinator (this process) holds the writer lock, and `n` ready units of events. */
  async function runWithUnits(n: number, units = (i: number) => ({ ...E1, firstTaskId: i + 1, payload: `{"unit":${i}}` })) {
    const where = location();
    const store = (await openStateStore(where, "write"))!;
    const lock = await store.lock!.acquire({ command: "apply --distribute" });
    const { runId } = await store.writer!.beginRun("apply --distribute", asOf, []);
    const queue = store.workQueue!;
    const ids = await queue.enqueue(runId, Array.from({ length: n }, (_, i) => units(i)));
    return { where, store, lock, runId, queue, ids };
  }

  async function rows(where: PostgresLocation): Promise<{ id: number; status: string; claims: number; claimed_by: string | null }[]> {
    return queryDatabase(database.url, `select id, status, claims, claimed_by from ${where.schema}.work_queue order by id`);
  }

  it("hands each unit to exactly one of many concurrent claimers, in id order, then nothing", async () => {
    const { where, store, lock, queue, ids } = await runWithUnits(30);
    // Eight claimers, each with its own connections, racing for 30 units.
    const claimers: StateStore[] = await Promise.all(Array.from({ length: 8 }, () => openStateStore(where, "write").then((s) => s!)));
    try {
      const taken: number[][] = await Promise.all(
        claimers.map(async (claimer, c) => {
          const mine: number[] = [];
          for (;;) {
            const unit = await claimer.workQueue!.claim([E1], 60_000, `host:${c}`);
            if (!unit) return mine;
            expect(unit.claims).toBe(1);
            mine.push(unit.id);
          }
        }),
      );
      expect(taken.flat().sort((a, b) => a - b)).toEqual(ids);
      expect(taken.filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
      expect((await rows(where)).every((r) => r.status === "claimed" && r.claims === 1)).toBe(true);
      expect(await queue.claim([E1], 60_000)).toBeUndefined();
    } finally {
      await Promise.all(claimers.map((c) => c.close()));
      await lock.release();
      await store.close();
    }
  });

  it("claims only units planned with a fingerprint the claimer has, and lists the others as refused", async () => {
    const { store, lock, runId, queue, ids } = await runWithUnits(3, (i) => (i === 1 ? { ...R1, firstTaskId: 2, payload: "{}" } : { ...E1, firstTaskId: i + 1, payload: "{}" }));
    try {
      expect(await queue.claim([{ dataset: "events", fingerprint: "e2" }, { dataset: "revenue", fingerprint: "r2" }], 60_000)).toBeUndefined();
      expect(await queue.hasWork([{ dataset: "events", fingerprint: "e2" }])).toBe(false);
      expect(await queue.refused([{ dataset: "events", fingerprint: "e2" }])).toEqual([
        { runId, dataset: "events", fingerprint: "e1", units: 2 },
        { runId, dataset: "revenue", fingerprint: "r1", units: 1 },
      ]);
      expect(await queue.refused([E1])).toEqual([{ runId, dataset: "revenue", fingerprint: "r1", units: 1 }]);
      const unit = await queue.claim([R1], 60_000, "host:1");
      expect(unit).toMatchObject({ id: ids[1], runId, dataset: "revenue", fingerprint: "r1", firstTaskId: 2, payload: "{}", claims: 1 });
      expect(await queue.hasWork([R1])).toBe(true); // claimed, not finished
    } finally {
      await lock.release();
      await store.close();
    }
  });

  it("claims a unit again once its lease ran out, with a new token; the old claimer can neither renew nor report", async () => {
    const { where, store, lock, runId, queue, ids } = await runWithUnits(1);
    try {
      const first = (await queue.claim([E1], 300, "host:dead"))!;
      expect(await queue.claim([E1], 300, "host:other")).toBeUndefined(); // lease still running
      expect(await queue.renew(first.id, first.token, 300)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const second = (await queue.claim([E1], 60_000, "host:other"))!;
      expect({ id: second.id, claims: second.claims }).toEqual({ id: ids[0], claims: 2 });
      expect(second.token).not.toBe(first.token);
      expect(await rows(where)).toEqual([{ id: ids[0], status: "claimed", claims: 2, claimed_by: "host:other" }]);

      // The first claimer wakes up: fenced off by its old token.
      expect(await queue.renew(first.id, first.token, 60_000)).toBe(false);
      expect(await queue.report(first.id, first.token, "built", '{"from":"zombie"}')).toBe(false);
      expect(await queue.report(second.id, second.token, "built", '{"from":"second"}')).toBe(true);
      // Reported once: a second report (even with the right token) changes nothing.
      expect(await queue.report(second.id, second.token, "failed", "{}")).toBe(false);
      expect(await queue.claim([E1], 60_000)).toBeUndefined();

      expect(await queue.takeReports(runId)).toEqual([{ id: ids[0], status: "built", result: '{"from":"second"}' }]);
      expect(await queue.takeReports(runId)).toEqual([]);
      expect(await rows(where)).toEqual([]);
    } finally {
      await lock.release();
      await store.close();
    }
  });

  it("ignores units of a run whose coordinator no longer holds the lock, and clears units of ended runs", async () => {
    const { where, store, lock, runId, queue } = await runWithUnits(2);
    try {
      await lock.release();
      expect(await queue.claim([E1], 60_000)).toBeUndefined();
      expect(await queue.hasWork([E1])).toBe(false);
      expect(await queue.refused([])).toEqual([]);
      // Another process on this host holding the lock is not the run's coordinator either.
      await queryDatabase(database.url, `insert into ${where.schema}.locks values ('apply', $1, $2, 'apply', $3, $4)`, [
        os.hostname(),
        process.pid + 1_000_000,
        new Date().toISOString(),
        new Date(Date.now() + 60_000).toISOString(),
      ]);
      expect(await queue.claim([E1], 60_000)).toBeUndefined();
      expect(await queue.clearEndedRuns()).toBe(0); // the run is still `running` (the next apply's reconcile ends it)
      // Ended by the next writer (its own store: this one's writer refuses to write once its lock is released).
      const next = (await openStateStore(where, "write"))!;
      await next.writer!.finishRun(runId, "interrupted", []).finally(() => next.close());
      expect(await queue.clearEndedRuns()).toBe(2);
      expect(await rows(where)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("withdraws the units nobody claimed, leaving claimed ones to finish", async () => {
    const { where, store, lock, runId, queue, ids } = await runWithUnits(3);
    try {
      const claimed = (await queue.claim([E1], 60_000, "host:1"))!;
      expect(await queue.withdrawReady(runId)).toEqual(ids.slice(1));
      expect(await rows(where)).toEqual([{ id: claimed.id, status: "claimed", claims: 1, claimed_by: "host:1" }]);
    } finally {
      await lock.release();
      await store.close();
    }
  });

  it("refuses SQLite state", async () => {
    const sqlite = (await openStateStore(`${os.tmpdir()}/reflow-queue-${process.pid}-${Date.now()}.db`, "write"))!;
    try {
      expect(sqlite.workQueue).toBeUndefined();
      const db = (sqlite.writer as unknown as { db: ConstructorParameters<typeof WorkQueue>[0] }).db;
      expect(() => new WorkQueue(db)).toThrow("the work queue needs PostgreSQL state");
    } finally {
      await sqlite.close();
    }
  });
});
