import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Kysely, SelectQueryBuilder } from "kysely";
import { ReflowError } from "@reflow/core";
import { isPostgres } from "./migrations/migration-dialect.js";
import type { StateDatabase } from "./state-schema.js";

/** A dataset definition a claimer can build: it claims only units planned with exactly this fingerprint. */
export interface BuildableDataset {
  readonly dataset: string;
  readonly fingerprint: string;
}

/** What the coordinator dispatches. */
export interface QueuedUnit {
  readonly dataset: string;
  readonly fingerprint: string;
  readonly firstTaskId: number;
  /** JSON. */
  readonly payload: string;
}

/** A unit this process holds: its lease must be renewed, and its result reported with `token`. */
export interface ClaimedUnit {
  readonly id: number;
  readonly runId: number;
  readonly dataset: string;
  readonly fingerprint: string;
  readonly firstTaskId: number;
  readonly payload: string;
  readonly token: string;
  /** 1 for a first claim; more when an earlier claimer's lease ran out (it may have left a partial version). */
  readonly claims: number;
}

/** A finished unit, as the coordinator collects it. */
export interface UnitReport {
  readonly id: number;
  readonly status: "built" | "failed";
  /** JSON. */
  readonly result: string;
}

/** Units waiting in a live run that a claimer refuses: planned with another fingerprint than its code has. */
export interface RefusedUnits {
  readonly runId: number;
  readonly dataset: string;
  /** The fingerprint the run builds with. */
  readonly fingerprint: string;
  readonly units: number;
}

/** `host:pid`: who claimed a unit. */
export function claimerId(): string {
  return `${os.hostname()}:${process.pid}`;
}

/**
 * The work queue of distributed runs, in the PostgreSQL state. Claims use
 * `FOR UPDATE SKIP LOCKED`, so concurrent claimers on any number of machines
 * never take the same unit and never wait on each other; a claim is a lease
 * that the claimer renews, and a unit whose lease ran out is claimed again.
 * Only units of *live* runs are claimable: the run is `running` and the
 * process that started it still holds the writer lock (its lease runs), so a
 * dead coordinator's units are left alone until the next apply cleans them up.
 */
export class WorkQueue {
  constructor(private readonly db: Kysely<StateDatabase>) {
    if (!isPostgres(db)) throw new ReflowError("REFLOW_DISTRIBUTE_UNSUPPORTED", "the work queue needs PostgreSQL state");
  }

  /** Deletes the units of runs that are no longer running (a coordinator died, or a run ended). */
  async clearEndedRuns(): Promise<number> {
    const deleted = await this.db
      .deleteFrom("work_queue")
      .where("run_id", "not in", (eb) => eb.selectFrom("runs").select("id").where("status", "=", "running"))
      .executeTakeFirst();
    return Number(deleted.numDeletedRows);
  }

  /** Adds ready units; returns their ids, in order (claim order is id order). */
  async enqueue(runId: number, units: readonly QueuedUnit[]): Promise<number[]> {
    if (units.length === 0) return [];
    const rows = await this.db
      .insertInto("work_queue")
      .values(
        units.map((u) => ({
          run_id: runId,
          dataset: u.dataset,
          fingerprint: u.fingerprint,
          first_task_id: u.firstTaskId,
          payload: u.payload,
          status: "ready" as const,
          claims: 0,
        })),
      )
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Claims the oldest unit of a live run that is ready, or claimed with a
   * lease that ran out, among the datasets the claimer can build; one
   * transaction, skipping rows other claimers are locking.
   */
  async claim(buildable: readonly BuildableDataset[], leaseMs: number, claimer = claimerId()): Promise<ClaimedUnit | undefined> {
    if (buildable.length === 0) return undefined;
    const now = new Date();
    return this.db.transaction().execute(async (trx) => {
      const row = await liveUnits(trx, now)
        .select(["work_queue.id", "work_queue.run_id", "work_queue.dataset", "work_queue.fingerprint", "work_queue.first_task_id", "work_queue.payload", "work_queue.claims"])
        .where((eb) => eb.or([eb("work_queue.status", "=", "ready"), eb.and([eb("work_queue.status", "=", "claimed"), eb("work_queue.lease_until", "<", now.toISOString())])]))
        .where((eb) => eb.or(buildable.map((b) => eb.and([eb("work_queue.dataset", "=", b.dataset), eb("work_queue.fingerprint", "=", b.fingerprint)]))))
        .orderBy("work_queue.id")
        .limit(1)
        .forUpdate(["work_queue"])
        .skipLocked()
        .executeTakeFirst();
      if (!row) return undefined;
      const token = randomUUID();
      await trx
        .updateTable("work_queue")
        .set({ status: "claimed", claimed_by: claimer, token, claims: row.claims + 1, lease_until: new Date(Date.now() + leaseMs).toISOString() })
        .where("id", "=", row.id)
        .execute();
      return {
        id: row.id,
        runId: row.run_id,
        dataset: row.dataset,
        fingerprint: row.fingerprint,
        firstTaskId: row.first_task_id,
        payload: row.payload,
        token,
        claims: row.claims + 1,
      };
    });
  }

  /** Extends the lease; false when the claim was lost (its lease ran out and another claimer took it, or the run ended). */
  async renew(id: number, token: string, leaseMs: number): Promise<boolean> {
    const updated = await this.db
      .updateTable("work_queue")
      .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
      .where("id", "=", id)
      .where("token", "=", token)
      .where("status", "=", "claimed")
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** Reports a claimed unit's result; false (and nothing written) when the claim was lost. */
  async report(id: number, token: string, status: "built" | "failed", result: string): Promise<boolean> {
    const updated = await this.db
      .updateTable("work_queue")
      .set({ status, result, lease_until: null })
      .where("id", "=", id)
      .where("token", "=", token)
      .where("status", "=", "claimed")
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** The coordinator's side: takes (deletes and returns) the finished units of a run, in one statement. */
  async takeReports(runId: number): Promise<UnitReport[]> {
    const rows = await this.db
      .deleteFrom("work_queue")
      .where("run_id", "=", runId)
      .where("status", "in", ["built", "failed"])
      .returning(["id", "status", "result"])
      .execute();
    return rows.map((r) => ({ id: r.id, status: r.status as "built" | "failed", result: r.result! }));
  }

  /** Withdraws a run's units nobody claimed yet (the run is stopping); returns their ids. */
  async withdrawReady(runId: number): Promise<number[]> {
    const rows = await this.db.deleteFrom("work_queue").where("run_id", "=", runId).where("status", "=", "ready").returning("id").execute();
    return rows.map((r) => r.id);
  }

  /** Whether a live run has units left, ready or being built, among the datasets the claimer can build. */
  async hasWork(buildable: readonly BuildableDataset[]): Promise<boolean> {
    if (buildable.length === 0) return false;
    const row = await liveUnits(this.db, new Date())
      .select("work_queue.id")
      .where("work_queue.status", "in", ["ready", "claimed"])
      .where((eb) => eb.or(buildable.map((b) => eb.and([eb("work_queue.dataset", "=", b.dataset), eb("work_queue.fingerprint", "=", b.fingerprint)]))))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Ready units of live runs that the claimer's code cannot build: same dataset, other fingerprint, or a dataset it lacks. */
  async refused(buildable: readonly BuildableDataset[]): Promise<RefusedUnits[]> {
    let query = liveUnits(this.db, new Date())
      .select(["work_queue.run_id", "work_queue.dataset", "work_queue.fingerprint", (eb) => eb.fn.countAll<number>().as("units")])
      .where("work_queue.status", "=", "ready");
    if (buildable.length > 0) {
      query = query.where((eb) => eb.not(eb.or(buildable.map((b) => eb.and([eb("work_queue.dataset", "=", b.dataset), eb("work_queue.fingerprint", "=", b.fingerprint)])))));
    }
    const rows = await query.groupBy(["work_queue.run_id", "work_queue.dataset", "work_queue.fingerprint"]).orderBy("work_queue.run_id").orderBy("work_queue.dataset").execute();
    return rows.map((r) => ({ runId: r.run_id, dataset: r.dataset, fingerprint: r.fingerprint, units: Number(r.units) }));
  }
}

/** Units of runs that are running and whose coordinator still holds the writer lock (its lease runs). */
function liveUnits(db: Kysely<StateDatabase>, now: Date): SelectQueryBuilder<StateDatabase, "work_queue" | "runs" | "locks", {}> {
  return db
    .selectFrom("work_queue")
    .innerJoin("runs", "runs.id", "work_queue.run_id")
    .innerJoin("locks", (join) => join.onRef("locks.host", "=", "runs.host").onRef("locks.pid", "=", "runs.pid"))
    .where("runs.status", "=", "running")
    .where("locks.lease_expires_at", ">", now.toISOString());
}
