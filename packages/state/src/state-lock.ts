import os from "node:os";
import type Database from "better-sqlite3";
import type { Kysely } from "kysely";
import { ReflowError } from "@reflow/core";
import { processStart } from "./process-start-time.js";
import type { StateDatabase } from "./state-schema.js";

/** Who holds the writer lock. */
export interface LockHolder {
  readonly host: string;
  readonly pid: number;
  readonly command: string;
  readonly acquiredAt: string;
  readonly leaseExpiresAt: string;
}

export interface HeldLock {
  readonly holder: LockHolder;
  /** Holders that died and were taken over on the way (a dead pid on this host, or an expired lease on another). */
  readonly tookOverFrom?: LockHolder;
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  readonly command: string;
  /** How long to wait for a live holder: 0 fails at once (default), Infinity waits for ever. */
  readonly waitMs?: number;
  /** A holder on another host that stops renewing its lease for this long is presumed dead. */
  readonly leaseMs?: number;
}

const LOCK_NAME = "apply";

/** The `acquiredAt` of every lock this process holds, whichever `StateLock` took it: a holder with this pid is alive only if listed. */
const heldHere = new Set<string>();
const DEFAULT_LEASE_MS = 60_000;
const POLL_MS = 200;

/**
 * One writer at a time, in the state store itself so that it travels with it.
 * Taking the lock is an INSERT on a primary key, which is atomic; taking over a
 * dead holder's lock deletes exactly that holder's row, so two processes that
 * both see it dead cannot both win.
 */
export class StateLock {
  /** `fence`: told the holder when this lock is taken (`held`) and when it is released (the store fences its writer by it). */
  constructor(
    private readonly db: Kysely<StateDatabase>,
    private readonly fence?: (holder: LockHolder, held: boolean) => void,
  ) {}

  async holder(): Promise<LockHolder | undefined> {
    const row = await this.db.selectFrom("locks").selectAll().where("name", "=", LOCK_NAME).executeTakeFirst();
    return row ? toHolder(row) : undefined;
  }

  async acquire(options: AcquireLockOptions): Promise<HeldLock> {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const deadline = Date.now() + (options.waitMs ?? 0);
    let tookOverFrom: LockHolder | undefined;
    for (;;) {
      const mine: LockHolder = {
        host: os.hostname(),
        pid: process.pid,
        command: options.command,
        acquiredAt: new Date().toISOString(),
        leaseExpiresAt: new Date(Date.now() + leaseMs).toISOString(),
      };
      const inserted = await this.db
        .insertInto("locks")
        .values({
          name: LOCK_NAME,
          host: mine.host,
          pid: mine.pid,
          command: mine.command,
          acquired_at: mine.acquiredAt,
          lease_expires_at: mine.leaseExpiresAt,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return this.held(mine, leaseMs, tookOverFrom);

      const current = await this.holder();
      if (!current) continue; // released in between
      if (!isLockHolderAlive(current)) {
        await this.remove(current);
        tookOverFrom = current;
        continue;
      }
      if (Date.now() >= deadline) throw lockedError(current, options.waitMs);
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    }
  }

  /** Removes whatever lock is held, for `reflow unlock`. Returns the holder it removed. */
  async breakLock(): Promise<LockHolder | undefined> {
    const current = await this.holder();
    if (current) await this.remove(current);
    return current;
  }

  private async remove(holder: LockHolder): Promise<void> {
    await this.db
      .deleteFrom("locks")
      .where("name", "=", LOCK_NAME)
      .where("host", "=", holder.host)
      .where("pid", "=", holder.pid)
      .where("acquired_at", "=", holder.acquiredAt)
      .execute();
  }

  private held(holder: LockHolder, leaseMs: number, tookOverFrom: LockHolder | undefined): HeldLock {
    heldHere.add(holder.acquiredAt);
    this.fence?.(holder, true);
    // Renew the lease well before it runs out; unref'd so it never keeps the process alive.
    const heartbeat = setInterval(() => {
      void this.db
        .updateTable("locks")
        .set({ lease_expires_at: new Date(Date.now() + leaseMs).toISOString() })
        .where("name", "=", LOCK_NAME)
        .where("pid", "=", holder.pid)
        .where("acquired_at", "=", holder.acquiredAt)
        .execute()
        .catch(() => {});
    }, Math.max(1_000, Math.floor(leaseMs / 4)));
    heartbeat.unref();
    let released = false;
    return {
      holder,
      ...(tookOverFrom ? { tookOverFrom } : {}),
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        try {
          await this.remove(holder);
        } finally {
          heldHere.delete(holder.acquiredAt);
          this.fence?.(holder, false);
        }
      },
    };
  }
}

/**
 * How much later than the lock a process with the holder's pid may appear to have started and
 * still be the holder for sure. The holder starts a moment before it takes the lock, but start
 * times are read against the wall clock as it reads now, which may have been stepped forward since.
 */
const START_TIME_TOLERANCE_MS = 60_000;

/**
 * A holder that is alive by every sign we can read. On this host the process itself is the
 * evidence: its pid runs, it is not this process (which knows the locks it holds), and, where the
 * OS says when it started (Linux), it started before the lock was taken, so it is the holder and
 * not a later process given the same pid (after a crash, or in a container restarted with the same
 * hostname). Then its lease does not count: a live holder whose heartbeat was held up (a transform
 * that kept the event loop busy past the lease) still writes, and taking its lock over would let
 * two writers in. A pid whose process started later, but within the tolerance, is ambiguous and
 * left to the lease. On another host only the lease can tell.
 */
export function isLockHolderAlive(holder: LockHolder, now = Date.now()): boolean {
  const leaseRuns = Date.parse(holder.leaseExpiresAt) >= now;
  if (holder.host !== os.hostname()) return leaseRuns;
  if (holder.pid === process.pid) return heldHere.has(holder.acquiredAt);
  if (!pidExists(holder.pid)) return false;
  const running = processStart(holder.pid);
  if (!running) return true; // no start time on this OS: a live pid is the holder
  if (running.exited) return false;
  const startedAfterLock = running.startedAt - Date.parse(holder.acquiredAt);
  if (startedAfterLock <= 0) return true;
  return startedAfterLock <= START_TIME_TOLERANCE_MS && leaseRuns;
}

/**
 * Fences a PostgreSQL write transaction by the writer lock: throws REFLOW_LOCK_LOST, before
 * anything is written, unless `holder` still holds it. `for share` also locks the row until the
 * transaction ends, so a takeover (a delete) cannot commit in between.
 */
export async function assertLockHeld(db: Kysely<StateDatabase>, holder: LockHolder): Promise<void> {
  const mine = await db
    .selectFrom("locks")
    .select("pid")
    .where("name", "=", LOCK_NAME)
    .where("host", "=", holder.host)
    .where("pid", "=", holder.pid)
    .where("acquired_at", "=", holder.acquiredAt)
    .forShare()
    .executeTakeFirst();
  if (mine) return;
  const current = await db.selectFrom("locks").selectAll().where("name", "=", LOCK_NAME).executeTakeFirst();
  throw lockLostError(holder, current ? toHolder(current) : undefined);
}

/**
 * `assertLockHeld` on SQLite, synchronously (better-sqlite3), for the writer's kysely transactions
 * and its prepared statements alike: SQLite's single writer makes the check atomic with the
 * transaction's writes.
 */
export function sqliteLockCheck(database: Database.Database, holder: LockHolder): () => void {
  const mine = database.prepare("select 1 from locks where name = ? and host = ? and pid = ? and acquired_at = ?").pluck();
  const current = database.prepare("select * from locks where name = ?");
  return () => {
    if (mine.get(LOCK_NAME, holder.host, holder.pid, holder.acquiredAt) !== undefined) return;
    const row = current.get(LOCK_NAME) as StateDatabase["locks"] | undefined;
    throw lockLostError(holder, row ? toHolder(row) : undefined);
  };
}

/** REFLOW_LOCK_LOST: this process's lock is gone (taken over, or removed by hand) while it wrote. */
export function lockLostError(mine: LockHolder, current: LockHolder | undefined): ReflowError {
  const taker = current && `\`${current.command}\` (pid ${current.pid} on ${current.host}, since ${current.acquiredAt})`;
  const gone = !current
    ? "was removed (by `reflow unlock`?)"
    : current.host === mine.host
      ? // On one host a live holder is never taken over on its lease: the lock was removed first.
        `was removed (by \`reflow unlock\`?) and taken by ${taker}`
      : `was taken over by ${taker}, which found this one's lease run out ` +
        "(no heartbeat reached the state for a minute: was this process paused, or cut off from the database?)";
  return new ReflowError(
    "REFLOW_LOCK_LOST",
    `the state's writer lock, taken by this \`${mine.command}\` at ${mine.acquiredAt}, ${gone}. ` +
      "Nothing more was recorded; what this run left unfinished is settled by the next apply",
  );
}

/**
 * REFLOW_LOCK_LOST for a write this process attempted after releasing the lock it wrote under: work
 * of a stopped run that was still under way (the engine waits for it, so this is a safety net).
 */
export function lockReleasedError(mine: LockHolder): ReflowError {
  return new ReflowError(
    "REFLOW_LOCK_LOST",
    `the state's writer lock, taken by this \`${mine.command}\` at ${mine.acquiredAt}, was released before a write of its run ` +
      "(a bug in reflow: please report it); nothing more was recorded",
  );
}

/** REFLOW_LOCKED, saying who holds the lock and what to do. */
export function lockedError(holder: LockHolder, waitedMs?: number): ReflowError {
  return new ReflowError(
    "REFLOW_LOCKED",
    `the state is locked by another reflow: \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.acquiredAt})` +
      `${waitedMs ? `; waited ${Math.round(waitedMs / 1000)}s` : ""}. ` +
      "Wait for it to finish or retry with --wait; if that process is gone for good, run `reflow unlock`",
  );
}

function toHolder(row: StateDatabase["locks"]): LockHolder {
  return { host: row.host, pid: row.pid, command: row.command, acquiredAt: row.acquired_at, leaseExpiresAt: row.lease_expires_at };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
