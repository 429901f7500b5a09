import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import { isLockHolderAlive, openStateStore, type StateDatabase } from "../src/index.js";
import { processStart } from "../src/process-start-time.js";

const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-")), "state.db");
const asOf = new Date("2024-01-06T00:00:00Z");

describe("state store", () => {
  it("reads a missing state file as absent without creating it", async () => {
    const file = tempFile();
    expect(await openStateStore(file, "read")).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  });

  it("records runs and tasks and returns them as a snapshot", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const writer = store.writer!;
    const { runId, taskIds } = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
      { dataset: "daily", partition: "2024-01-01", reason: "missing", fingerprint: "d1" },
    ]);
    expect(runId).toBe(1);
    expect(taskIds).toEqual([1, 2, 3]);
    await writer.taskBuilt(1, { inputs: {}, rowCount: 3, contentHash: "h1" });
    await writer.taskSucceeded(1, "events", "2024-01-01");
    await writer.taskFailed(2, "events", "2024-01-02", "boom");
    await writer.taskBuilt(3, { inputs: { events: { "2024-01-01": 1 } }, rowCount: 1, contentHash: "h2" });
    await writer.taskSucceeded(3, "daily", "2024-01-01");
    await writer.finishRun(runId, "failed", [{ name: "daily", kind: "dataset", fingerprint: "d1" }]);

    const snapshot = await store.reader.snapshot();
    expect(snapshot.datasets).toEqual(new Map([["daily", { name: "daily", kind: "dataset", fingerprint: "d1" }]]));
    expect(snapshot.partitions).toEqual(
      new Map([
        [
          "events",
          new Map([
            ["2024-01-01", { status: "built", liveVersion: 1, liveRun: 1, fingerprint: "e1", inputs: {}, rowCount: 3, contentHash: "h1" }],
            ["2024-01-02", { status: "failed", liveVersion: null, fingerprint: null, inputs: {}, rowCount: null, contentHash: null }],
          ]),
        ],
        ["daily", new Map([["2024-01-01", { status: "built", liveVersion: 3, liveRun: 1, fingerprint: "d1", inputs: { events: { "2024-01-01": 1 } }, rowCount: 1, contentHash: "h2" }]])],
      ]),
    );

    // A later failure keeps the partition's live version.
    const second = await writer.beginRun("apply", asOf, [{ dataset: "events", partition: "2024-01-01", reason: "code-changed", fingerprint: "e2" }]);
    await writer.taskFailed(second.taskIds[0]!, "events", "2024-01-01", "boom again");
    await writer.finishRun(second.runId, "failed", []);
    const after = await store.reader.snapshot();
    expect(after.partitions.get("events")!.get("2024-01-01")).toEqual({ status: "failed", liveVersion: 1, liveRun: 1, fingerprint: "e1", inputs: {}, rowCount: 3, contentHash: "h1" });

    const status = await store.reader.datasetStatus();
    expect(status.get("events")).toMatchObject({
      built: 0,
      failed: 2,
      failures: [
        { partition: "2024-01-01", error: "boom again" },
        { partition: "2024-01-02", error: "boom" },
      ],
      lastRun: { id: 2, status: "failed", command: "apply" },
    });
    await store.close();
  });

  it("keeps each piece of fingerprinted source once, however many runs record it", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const task = { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" } as const;
    await store.writer!.beginRun("apply", asOf, [task], new Map(), [], new Map([["h1", "const RATE = 2;"], ["h2", "() => [1]"]]));
    await store.writer!.beginRun("apply", asOf, [task], new Map(), [], new Map([["h1", "const RATE = 2; // again"], ["h3", "() => [2]"]]));
    expect(await store.reader.sources(["h1", "h2", "h3", "unknown"])).toEqual(
      new Map([
        ["h1", "const RATE = 2;"],
        ["h2", "() => [1]"],
        ["h3", "() => [2]"],
      ]),
    );
    await store.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("select count(*) as n from fingerprint_sources").get()).toEqual({ n: 3 });
    raw.close();
  });

  it("refuses a state file written by a newer reflow", async () => {
    const file = tempFile();
    await (await openStateStore(file, "write"))!.close();
    const raw = new Database(file);
    raw.prepare("insert into kysely_migration (name, timestamp) values ('9999-future', 'x')").run();
    raw.close();
    await expect(openStateStore(file, "read")).rejects.toMatchObject({
      code: "REFLOW_STATE_INCOMPATIBLE",
      message: expect.stringContaining("was written by a newer reflow (migration 9999-future)"),
    });
  });
});

describe("two writers creating a new state at once", () => {
  it("both open it: the second waits for the first's migrations instead of failing", async () => {
    for (let i = 0; i < 10; i++) {
      const file = tempFile();
      const stores = await Promise.all([openStateStore(file, "write"), openStateStore(file, "write")]);
      expect(await stores[0]!.reader.runs()).toEqual([]);
      expect(await stores[1]!.reader.runs()).toEqual([]);
      await Promise.all(stores.map((s) => s!.close()));
    }
  });
});

describe("a writer killed in the middle of a transaction", () => {
  it("leaves a hot journal that readers roll back, and they read what was committed", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const { runId } = await store.writer!.beginRun("apply", asOf, [{ dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" }]);
    await store.close();
    // A tiny page cache makes SQLite write into the database file before the commit, behind a rollback journal.
    const killed = spawnSync(
      process.execPath,
      [
        "-e",
        `const db = new (require(${JSON.stringify(require.resolve("better-sqlite3"))}))(${JSON.stringify(file)});
         db.pragma("cache_size = 1");
         db.exec("begin");
         const insert = db.prepare("insert into runs (command, as_of, started_at, status, host, pid, tasks_total) values ('x', 'x', 'x', 'running', 'h', 1, 0)");
         for (let i = 0; i < 5000; i++) insert.run();
         process.kill(process.pid, "SIGKILL");`,
      ],
      { encoding: "utf8" },
    );
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(`${file}-journal`)).toBe(true);
    const reader = (await openStateStore(file, "read"))!;
    expect(await reader.reader.runs()).toMatchObject([{ id: runId, command: "apply", status: "running" }]);
    await reader.close();
    expect(existsSync(`${file}-journal`)).toBe(false);
  });
});

describe("reconcile after a crash", () => {
  it("records a task the warehouse shows published, and interrupts every other unfinished task and the run", async () => {
    const store = (await openStateStore(tempFile(), "write"))!;
    const writer = store.writer!;
    const { runId } = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-03", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-04", reason: "missing", fingerprint: "e1" },
    ]);
    await writer.taskBuilt(1, { inputs: {}, rowCount: 3, contentHash: "h1" });
    await writer.taskSucceeded(1, "events", "2024-01-01");
    // Killed after publishing 2 but before recording it; 3 was built but not published; 4 never ran.
    await writer.taskBuilt(2, { inputs: {}, rowCount: 2, contentHash: "h2" });
    await writer.taskBuilt(3, { inputs: {}, rowCount: 5, contentHash: "h3" });
    const warehouseLive: Record<string, number> = { "2024-01-01": 1, "2024-01-02": 2 };

    expect(await writer.reconcile(async (_dataset, partition) => warehouseLive[partition])).toEqual({ runs: [runId], published: 1, interrupted: 2 });
    const snapshot = await store.reader.snapshot();
    expect([...snapshot.partitions.get("events")!.entries()]).toEqual([
      ["2024-01-01", { status: "built", liveVersion: 1, liveRun: 1, fingerprint: "e1", inputs: {}, rowCount: 3, contentHash: "h1" }],
      ["2024-01-02", { status: "built", liveVersion: 2, liveRun: 1, fingerprint: "e1", inputs: {}, rowCount: 2, contentHash: "h2" }],
    ]);
    expect(await store.reader.runs()).toMatchObject([{ id: runId, status: "interrupted" }]);
    // Nothing left to settle.
    expect(await writer.reconcile(async () => undefined)).toEqual({ runs: [], published: 0, interrupted: 0 });
    await store.close();
  });
});

describe("the writer lock", () => {
  it("is held by one writer at a time; the second is told who holds it", async () => {
    const file = tempFile();
    const first = (await openStateStore(file, "write"))!;
    const second = (await openStateStore(file, "write"))!;
    const held = await first.lock!.acquire({ command: "apply --yes" });
    expect(held.holder).toMatchObject({ host: os.hostname(), pid: process.pid, command: "apply --yes" });
    // Same pid, but a live lease: the holder is alive, so the second writer is refused.
    await expect(second.lock!.acquire({ command: "apply" })).rejects.toMatchObject({
      code: "REFLOW_LOCKED",
      message: `the state is locked by another reflow: \`apply --yes\` (pid ${process.pid} on ${os.hostname()}, since ${held.holder.acquiredAt}). Wait for it to finish or retry with --wait; if that process is gone for good, run \`reflow unlock\``,
    });
    expect(await second.reader.lockHolder()).toEqual(held.holder);
    await held.release();
    expect(await second.reader.lockHolder()).toBeUndefined();
    const next = await second.lock!.acquire({ command: "apply" });
    await next.release();
    await first.close();
    await second.close();
  });

  it("--wait: waits for the holder to release", async () => {
    const file = tempFile();
    const first = (await openStateStore(file, "write"))!;
    const second = (await openStateStore(file, "write"))!;
    const held = await first.lock!.acquire({ command: "apply" });
    setTimeout(() => void held.release(), 300);
    const next = await second.lock!.acquire({ command: "apply", waitMs: 10_000 });
    expect(next.tookOverFrom).toBeUndefined();
    await next.release();
    await first.close();
    await second.close();
  });

  it("takes over a lock whose holder died (a pid that does not exist on this host) or whose lease expired", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const raw = new Database(file);
    const insert = raw.prepare("insert into locks (name, host, pid, command, acquired_at, lease_expires_at) values ('apply', ?, ?, 'apply', ?, ?)");
    const future = new Date(Date.now() + 3_600_000).toISOString();
    insert.run(os.hostname(), 2 ** 22 + 12_345, "2024-01-01T00:00:00.000Z", future); // above pid_max: never alive
    const afterDeadPid = await store.lock!.acquire({ command: "apply" });
    expect(afterDeadPid.tookOverFrom).toMatchObject({ pid: 2 ** 22 + 12_345 });
    await afterDeadPid.release();

    insert.run("another-host", 1, "2024-01-01T00:00:00.000Z", "2024-01-01T00:01:00.000Z");
    const afterExpiredLease = await store.lock!.acquire({ command: "apply" });
    expect(afterExpiredLease.tookOverFrom).toMatchObject({ host: "another-host", pid: 1 });
    await afterExpiredLease.release();

    insert.run("another-host", 1, "2024-01-01T00:00:00.000Z", future);
    await expect(store.lock!.acquire({ command: "apply" })).rejects.toMatchObject({ code: "REFLOW_LOCKED" });
    expect(await store.lock!.breakLock()).toMatchObject({ host: "another-host" });
    raw.close();
    await store.close();
  });

  it("never takes over a live holder on this host whose lease ran out (its heartbeat held up by a busy event loop)", async () => {
    const holder = await runningProcess();
    try {
      const file = tempFile();
      const store = (await openStateStore(file, "write"))!;
      const raw = new Database(file);
      // The holder took the lock after it started, and its lease ran out a minute ago, but it is running.
      const acquiredAt = new Date().toISOString();
      const expired = new Date(Date.now() - 60_000).toISOString();
      raw.prepare("insert into locks (name, host, pid, command, acquired_at, lease_expires_at) values ('apply', ?, ?, 'apply --yes', ?, ?)").run(os.hostname(), holder.pid, acquiredAt, expired);
      await expect(store.lock!.acquire({ command: "apply" })).rejects.toMatchObject({
        code: "REFLOW_LOCKED",
        message: `the state is locked by another reflow: \`apply --yes\` (pid ${holder.pid} on ${os.hostname()}, since ${acquiredAt}). Wait for it to finish or retry with --wait; if that process is gone for good, run \`reflow unlock\``,
      });
      expect(raw.prepare("select pid, acquired_at from locks").all()).toEqual([{ pid: holder.pid, acquired_at: acquiredAt }]);
      raw.close();
      await store.close();
    } finally {
      holder.kill();
    }
  });

  it.runIf(process.platform === "linux")("judges a holder on this host by its process: a reused pid, an exited one, this process's own pid", async () => {
    const other = await runningProcess();
    try {
      const here = os.hostname();
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const expired = new Date(Date.now() - 1_000).toISOString();
      const holder = (pid: number, acquiredAt: string, leaseExpiresAt: string) => ({ host: here, pid, command: "apply", acquiredAt, leaseExpiresAt });
      // Started long after the lock was taken: another process was given the holder's pid, whatever the lease says.
      expect(isLockHolderAlive(holder(other.pid, "2024-01-01T00:00:00.000Z", future))).toBe(false);
      // Started within a minute after it (a clock stepped forward, or a pid reused at once): the lease decides.
      const shortlyBefore = new Date(processStart(other.pid)!.startedAt - 30_000).toISOString();
      expect(isLockHolderAlive(holder(other.pid, shortlyBefore, future))).toBe(true);
      expect(isLockHolderAlive(holder(other.pid, shortlyBefore, expired))).toBe(false);
      // This process's pid, on a lock it does not hold: an earlier process's (another pid namespace, a restarted container).
      expect(isLockHolderAlive(holder(process.pid, new Date().toISOString(), future))).toBe(false);
    } finally {
      other.kill();
    }
    const zombie = await exitedUnreapedProcess();
    try {
      expect(processStart(zombie.pid)).toMatchObject({ exited: true });
      expect(isLockHolderAlive({ host: os.hostname(), pid: zombie.pid, command: "apply", acquiredAt: new Date().toISOString(), leaseExpiresAt: new Date(Date.now() + 60_000).toISOString() })).toBe(false);
    } finally {
      zombie.parent.kill();
    }
    // Processes to start and wait for: slow on a loaded machine (CI runs the projects in parallel on 2 cores).
  }, 30_000);

  it("fences every write of the store's writer while its lock is held, once the lock is gone: each throws REFLOW_LOCK_LOST and writes nothing", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const held = await store.lock!.acquire({ command: "apply --yes" });
    const writer = store.writer!;
    const run = await writer.beginRun("apply", new Date("2024-01-06T00:00:00Z"), [{ dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" }]);
    const raw = new Database(file);
    const rows = () => ["runs", "tasks", "partitions", "task_attempts"].map((table) => raw.prepare(`select * from ${table} order by 1`).all());
    raw.exec("delete from locks");
    const before = rows();
    const lost = `the state's writer lock, taken by this \`apply --yes\` at ${held.holder.acquiredAt}, was removed (by \`reflow unlock\`?). Nothing more was recorded; what this run left unfinished is settled by the next apply`;
    const taskId = run.taskIds[0]!;
    for (const write of [
      () => writer.reconcile(async () => undefined),
      () => writer.taskBuilt(taskId, { inputs: {}, rowCount: 1, contentHash: "1-a" }),
      () => writer.taskUnchanged(taskId, "events", "2024-01-01", {}),
      () => writer.attemptFailed(taskId, 1, new Date(), "boom"),
      () => writer.taskFailed(taskId, "events", "2024-01-01", "boom"),
      () => writer.tasksInterrupted([taskId]),
      () => writer.finishRun(run.runId, "succeeded", []),
    ]) {
      await expect(write()).rejects.toMatchObject({ code: "REFLOW_LOCK_LOST", message: lost });
    }
    expect(rows()).toEqual(before);
    // Taken by another command of this host after the removal: named, without blaming a lease.
    raw.prepare("insert into locks (name, host, pid, command, acquired_at, lease_expires_at) values ('apply', ?, 7, 'gc', '2024-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')").run(os.hostname());
    await expect(writer.finishRun(run.runId, "succeeded", [])).rejects.toMatchObject({
      code: "REFLOW_LOCK_LOST",
      message: `the state's writer lock, taken by this \`apply --yes\` at ${held.holder.acquiredAt}, was removed (by \`reflow unlock\`?) and taken by \`gc\` (pid 7 on ${os.hostname()}, since 2024-01-01T00:00:00.000Z). Nothing more was recorded; what this run left unfinished is settled by the next apply`,
    });
    expect(rows()).toEqual(before);
    raw.close();
    await held.release();
    await store.close();
  });

  it("refuses every write of the store's writer once its lock is released (work of a stopped run still under way), until the lock is taken again", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const held = await store.lock!.acquire({ command: "apply --yes" });
    const writer = store.writer!;
    const run = await writer.beginRun("apply", new Date("2024-01-06T00:00:00Z"), [{ dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" }]);
    const taskId = run.taskIds[0]!;
    // A write begun before the release whose transaction starts after it (on PostgreSQL it waited for a
    // pooled connection; on SQLite, to retry): refused too. Its transaction is held back by hand.
    const internals = writer as unknown as { db: Kysely<StateDatabase> };
    const db = internals.db;
    let startTransaction!: () => void;
    const heldBack = new Promise<void>((resolve) => (startTransaction = resolve));
    internals.db = new Proxy(db, {
      get: (target, property) =>
        property === "transaction"
          ? () => ({ execute: async (work: Parameters<ReturnType<typeof db.transaction>["execute"]>[0]) => (await heldBack, target.transaction().execute(work)) })
          : Reflect.get(target, property),
    });
    const late = writer.taskFailed(taskId, "events", "2024-01-01", "late");
    await held.release();
    startTransaction();
    const lateOutcome = await late.then(() => "written", (error: { code: string }) => error.code);
    internals.db = db;
    expect(lateOutcome).toBe("REFLOW_LOCK_LOST");
    const raw = new Database(file);
    const rows = () => ["runs", "tasks", "partitions", "task_attempts", "locks"].map((table) => raw.prepare(`select * from ${table} order by 1`).all());
    const before = rows();
    const released = `the state's writer lock, taken by this \`apply --yes\` at ${held.holder.acquiredAt}, was released before a write of its run (a bug in reflow: please report it); nothing more was recorded`;
    // The prepared statements (taskBuilt, taskUnchanged) and the kysely transactions alike.
    for (const write of [
      () => writer.taskBuilt(taskId, { inputs: {}, rowCount: 1, contentHash: "1-a" }),
      () => writer.taskUnchanged(taskId, "events", "2024-01-01", {}),
      () => writer.taskFailed(taskId, "events", "2024-01-01", "boom"),
      () => writer.finishRun(run.runId, "succeeded", []),
    ]) {
      await expect(write()).rejects.toMatchObject({ code: "REFLOW_LOCK_LOST", message: released });
    }
    expect(rows()).toEqual(before);
    const again = await store.lock!.acquire({ command: "apply --yes" });
    await writer.taskBuilt(taskId, { inputs: {}, rowCount: 1, contentHash: "1-a" });
    await writer.finishRun(run.runId, "succeeded", []);
    expect(raw.prepare("select status from runs").all()).toEqual([{ status: "succeeded" }]);
    raw.close();
    await again.release();
    await store.close();
  });

  it.runIf(process.platform === "linux")("reads a process's start time from /proc (this process: when Node started it)", () => {
    const self = processStart(process.pid)!;
    expect(self.exited).toBe(false);
    // btime is whole seconds, and start-up runs between the two (seconds on a loaded machine): within ten
    // seconds, where a wrong tick rate or field would be off by hours.
    expect(Math.abs(self.startedAt - performance.timeOrigin)).toBeLessThan(10_000);
    expect(processStart(2 ** 22 + 12_345)).toBeUndefined();
  });

});

/** A process that runs until killed, started (and so older than any lock taken from now on). */
async function runningProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  await new Promise((resolve, reject) => child.once("spawn", resolve).once("error", reject));
  return child as ChildProcess & { pid: number };
}

/**
 * A process that has exited but is not reaped (a zombie): a shell starts it in the background and
 * then becomes `sleep` by exec, which never waits for children. The child exits only once its parent
 * is `sleep`: one that exited before the exec could be reaped by the shell (a loaded CI machine did).
 * Its parent is returned to kill.
 */
async function exitedUnreapedProcess(): Promise<{ pid: number; parent: ChildProcess }> {
  const child = `until [ "$(cat /proc/$PPID/comm)" = sleep ]; do sleep 0.01; done`;
  const parent = spawn("sh", ["-c", `sh -c '${child}' & echo $!; exec sleep 60`], { stdio: ["ignore", "pipe", "ignore"] });
  const pid = Number(await new Promise<string>((resolve) => parent.stdout!.once("data", (data) => resolve(String(data)))));
  for (let tries = 0; tries < 1_000 && processStart(pid)?.exited !== true; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  return { pid, parent };
}
