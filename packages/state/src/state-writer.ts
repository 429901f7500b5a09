import os from "node:os";
import type Database from "better-sqlite3";
import type { Kysely, Transaction } from "kysely";
import { SqliteTaskStatements } from "./sqlite-task-statements.js";
import { assertLockHeld, lockReleasedError, type LockHolder } from "./state-lock.js";
import type { InputVersions } from "./state-snapshot.js";
import type { RunStatus, StateDatabase } from "./state-schema.js";

export interface PlannedTaskRecord {
  readonly dataset: string;
  readonly partition: string;
  readonly reason: string;
  readonly fingerprint: string;
  /** Planned before the partition was complete (`--include-incomplete`). */
  readonly incomplete?: boolean;
}

export interface TaskResult {
  readonly inputs: InputVersions;
  readonly rowCount: number;
  readonly contentHash: string;
  /** Messages of "warn" checks that failed; the version is published anyway. */
  readonly warnings?: readonly string[];
  /** Attempts made, this one included (default 1). */
  readonly attempts?: number;
  /** Sources with `sourceVersion()`: the version observed before reading. */
  readonly sourceVersion?: string;
}

/** A built version to record (`publishing`) before it is published. */
export interface BuiltTaskRecord {
  readonly taskId: number;
  readonly result: TaskResult;
}

/** A published version to confirm: the task succeeded and its version is live. */
export interface PublishedTaskRecord {
  readonly taskId: number;
  readonly dataset: string;
  readonly partition: string;
}

/** Forward-only: built partitions of a dataset whose live versions are accepted as up to date under its new fingerprint. */
export interface AcceptedPartitions {
  readonly dataset: string;
  readonly fingerprint: string;
  readonly partitions: readonly string[];
}

/** A dataset definition an apply completed: recorded so the next plan compares with it. */
export interface AppliedDataset {
  readonly name: string;
  readonly kind: string;
  readonly fingerprint: string;
  /** Canonical JSON of its metadata. */
  readonly metadata?: string;
}

/** One partition a rollback republishes. */
export interface RollbackRecord {
  readonly dataset: string;
  readonly partition: string;
  readonly fromVersion: number | null;
  readonly toVersion: number;
  /** The dataset's fingerprint now. */
  readonly codeFingerprint: string;
  readonly pinned: boolean;
}

const INSERT_CHUNK = 500;

/**
 * Every write to the state store. Each method is one transaction, so state
 * is consistent after a crash at any point.
 */
export class StateWriter {
  /** SQLite only: the per-task writes as prepared statements (PostgreSQL keeps kysely: a round trip costs more than compiling). */
  private readonly fast: SqliteTaskStatements | undefined;

  /** PostgreSQL: the writer lock the writes are fenced by once it was taken (`fencedBy`); SQLite's is `fast.fence`. */
  private fence: LockHolder | undefined;

  /** The lock this writer wrote under, once released (`lockReleased`): every write is refused until it is taken again. */
  private released: LockHolder | undefined;

  /** `database`: the SQLite connection under `db`, for the per-task fast path. */
  constructor(
    private readonly db: Kysely<StateDatabase>,
    database?: Database.Database,
  ) {
    this.fast = database ? new SqliteTaskStatements(database) : undefined;
  }

  /**
   * Fences every later write by the writer lock `holder` took (the store's `StateLock` calls this
   * when it is taken; `lockReleased` when it is released): each transaction first checks,
   * inside it, that the lock is still this holder's, and throws REFLOW_LOCK_LOST without writing
   * otherwise. A holder whose lease ran out (paused, or cut off from a shared state) may have had
   * its lock taken over by another host's apply; from then on it must not write.
   */
  fencedBy(holder: LockHolder): void {
    this.released = undefined;
    if (this.fast) this.fast.fencedBy(holder);
    else this.fence = holder;
  }

  /**
   * The lock `holder` took was released: from now on every write fails with REFLOW_LOCK_LOST, until
   * the lock is taken again (`fencedBy`). Unfencing instead would let a write still under way when
   * its run stopped land unchecked after all. The check is made inside each transaction, and the
   * fence stays, so a write that began before the release (waiting for a connection, or to retry)
   * is refused too.
   */
  lockReleased(holder: LockHolder): void {
    this.released = holder;
  }

  /** Throws if the lock this writer wrote under was released (`lockReleased`): call it inside the transaction. */
  private refuseAfterRelease(): void {
    if (this.released) throw lockReleasedError(this.released);
  }

  /** One transaction, fenced by the writer lock while it is held. */
  private write<T>(work: (trx: Transaction<StateDatabase>) => Promise<T>): Promise<T> {
    return retriedOnStaleRead(this.fast !== undefined, () =>
      this.db.transaction().execute(async (trx) => {
        this.refuseAfterRelease();
        // SQLite: the prepared check, on the connection this transaction holds.
        this.fast?.fence?.();
        if (this.fence) await assertLockHeld(trx, this.fence);
        return work(trx);
      }),
    );
  }

  /** See `reconcileRuns`. Call it holding the writer lock, before planning. */
  reconcile(liveVersion: (dataset: string, partition: string) => Promise<number | undefined>): Promise<ReconcileResult> {
    return reconcileRuns(this.db, liveVersion, (work) => this.write(work));
  }

  /**
   * Records a rollback run and the partitions it republishes, before the
   * warehouse publishes them; `rollbackPublished` confirms. A crash in
   * between is settled by `reconcile` from what the warehouse shows.
   */
  async beginRollback(command: string, rollbacks: readonly RollbackRecord[]): Promise<number> {
    return this.write(async (trx) => {
      const runId = await insertRun(trx, command, new Date(), 0);
      for (let i = 0; i < rollbacks.length; i += INSERT_CHUNK) {
        const chunk = rollbacks.slice(i, i + INSERT_CHUNK).map((r) => ({
          run_id: runId,
          dataset: r.dataset,
          partition: r.partition,
          from_version: r.fromVersion,
          to_version: r.toVersion,
          code_fingerprint: r.codeFingerprint,
          pinned: r.pinned ? 1 : 0,
          status: "publishing" as const,
        }));
        await trx.insertInto("rollbacks").values(chunk).execute();
      }
      return runId;
    });
  }

  /** The warehouse has published a rollback run's versions: they are live, and the run succeeded. */
  async rollbackPublished(runId: number): Promise<void> {
    await this.write(async (trx) => {
      await markRolledBack(trx, runId, Date.now());
      await trx.updateTable("runs").set({ status: "succeeded", finished_at: now() }).where("id", "=", runId).execute();
    });
  }

  /** Ends the pins of these partitions' rollbacks: plan treats them as rolled back and not pinned. */
  async unpin(dataset: string, partitions: readonly string[]): Promise<void> {
    await this.write(async (trx) => {
      for (let i = 0; i < partitions.length; i += INSERT_CHUNK) {
        await trx
          .updateTable("rollbacks")
          .set({ pinned: 0 })
          .where("dataset", "=", dataset)
          .where("partition", "in", partitions.slice(i, i + INSERT_CHUNK))
          .execute();
      }
    });
  }

  /** Versions whose rows `reflow gc` deleted from the warehouse. */
  async versionsPurged(versions: readonly number[]): Promise<void> {
    const at = Date.now();
    await this.write(async (trx) => {
      for (let i = 0; i < versions.length; i += INSERT_CHUNK) {
        await trx.updateTable("tasks").set({ purged_at: at }).where("id", "in", versions.slice(i, i + INSERT_CHUNK)).execute();
      }
    });
  }

  /** Records a run and all its planned tasks as pending; returns the run id and a task id per planned task, in order. */
  async beginRun(
    command: string,
    asOf: Date,
    tasks: readonly PlannedTaskRecord[],
    /** JSON manifest of each fingerprint the tasks are built with, kept for `explain`. */
    manifests: ReadonlyMap<string, string> = new Map(),
    /** Forward-only acceptances, recorded with the run: they do not depend on how its tasks end. */
    accepted: readonly AcceptedPartitions[] = [],
    /** Printed source of the code those fingerprints cover, by canonical hash; kept for plan diffs. */
    sources: ReadonlyMap<string, string> = new Map(),
  ): Promise<{ runId: number; taskIds: number[] }> {
    return this.write(async (trx) => {
      for (const { dataset, fingerprint, partitions } of accepted) {
        for (let i = 0; i < partitions.length; i += INSERT_CHUNK) {
          await trx
            .updateTable("partitions")
            .set({ accepted_fingerprint: fingerprint })
            .where("dataset", "=", dataset)
            .where("partition", "in", partitions.slice(i, i + INSERT_CHUNK))
            .execute();
        }
      }
      for (const [fingerprint, manifest] of manifests) {
        await trx.insertInto("fingerprints").values({ fingerprint, manifest }).onConflict((oc) => oc.column("fingerprint").doNothing()).execute();
      }
      for (const [hash, source] of sources) {
        await trx.insertInto("fingerprint_sources").values({ hash, source }).onConflict((oc) => oc.column("hash").doNothing()).execute();
      }
      const run = { id: await insertRun(trx, command, asOf, tasks.length) };
      const taskIds: number[] = [];
      for (let i = 0; i < tasks.length; i += INSERT_CHUNK) {
        const chunk = tasks.slice(i, i + INSERT_CHUNK).map((task) => ({
          run_id: run.id,
          dataset: task.dataset,
          partition: task.partition,
          reason: task.reason,
          status: "pending" as const,
          fingerprint: task.fingerprint,
          incomplete: task.incomplete ? 1 : null,
        }));
        const inserted = await trx.insertInto("tasks").values(chunk).returning("id").execute();
        taskIds.push(...inserted.map((row) => row.id));
      }
      return { runId: run.id, taskIds };
    });
  }

  /**
   * Records a built, validated version just before it is published. If the
   * process dies between this and `taskSucceeded`, `reconcile` settles the task
   * from what the warehouse shows, so a published version is never rebuilt.
   */
  async taskBuilt(taskId: number, result: TaskResult): Promise<void> {
    await this.tasksBuilt([{ taskId, result }]);
  }

  /** `taskBuilt` for many tasks in one transaction (group commit). */
  async tasksBuilt(tasks: readonly BuiltTaskRecord[]): Promise<void> {
    await this.tasksSucceededAndBuilt([], tasks);
  }

  /** Marks a built task succeeded and makes its version the live one of its partition. */
  async taskSucceeded(taskId: number, dataset: string, partition: string): Promise<void> {
    await this.tasksSucceeded([{ taskId, dataset, partition }]);
  }

  /** `taskSucceeded` for many published tasks in one transaction (group commit). */
  async tasksSucceeded(tasks: readonly PublishedTaskRecord[]): Promise<void> {
    await this.tasksSucceededAndBuilt(tasks, []);
  }

  /**
   * `tasksSucceeded` of published tasks and `tasksBuilt` of others in one
   * transaction: group commit confirms a published group with the next
   * group's record, one commit instead of two.
   */
  async tasksSucceededAndBuilt(succeeded: readonly PublishedTaskRecord[], built: readonly BuiltTaskRecord[]): Promise<void> {
    if (succeeded.length === 0 && built.length === 0) return;
    // finished_at is set by the record already and rewritten by the confirm: the row then reaches its final size
    // in that one update and the confirm rewrites it in place. Growing every row twice (by the record, then by the
    // timestamp) split the tasks table's pages again and cost about 10 bytes per version.
    const at = Date.now();
    const fast = this.fast;
    if (fast) return this.exclusive(() => fast.recordPublishedAndBuilt(succeeded, built, at));
    await this.write(async (trx) => {
      for (const { taskId, dataset, partition } of succeeded) await markPublished(trx, taskId, dataset, partition, at);
      for (const { taskId, result } of built) {
        await trx
          .updateTable("tasks")
          .set({
            status: "publishing",
            inputs: JSON.stringify(result.inputs),
            row_count: result.rowCount,
            content_hash: result.contentHash,
            warnings: result.warnings?.length ? JSON.stringify(result.warnings) : null,
            attempts: result.attempts ?? 1,
            source_version: result.sourceVersion ?? null,
            finished_at: at,
          })
          .where("id", "=", taskId)
          .execute();
      }
    });
  }

  /**
   * Early cutoff: the partition's live version stays live and is recorded as
   * built from `inputs`, whose content equals what it was built from.
   */
  async taskUnchanged(taskId: number, dataset: string, partition: string, inputs: InputVersions): Promise<void> {
    const at = Date.now();
    const fast = this.fast;
    if (fast) return this.exclusive(() => fast.recordUnchanged(taskId, dataset, partition, JSON.stringify(inputs), at));
    await this.write(async (trx) => {
      await trx.updateTable("tasks").set({ status: "unchanged", inputs: JSON.stringify(inputs), finished_at: at }).where("id", "=", taskId).execute();
      await trx
        .updateTable("partitions")
        .set({ status: "built", inputs_task_id: taskId, last_task_id: taskId, updated_at: at })
        .where("dataset", "=", dataset)
        .where("partition", "=", partition)
        .execute();
    });
  }

  /**
   * Runs statements on the SQLite connection while kysely's driver holds it,
   * so they never land inside a kysely transaction another caller has open.
   */
  private async exclusive(write: () => void): Promise<void> {
    await retriedOnStaleRead(true, () =>
      this.db.connection().execute(async () => {
        this.refuseAfterRelease();
        write();
      }),
    );
  }

  /** Records a failed attempt that will be retried. */
  async attemptFailed(taskId: number, attempt: number, startedAt: Date, error: string): Promise<void> {
    await this.write((trx) => trx.insertInto("task_attempts").values({ task_id: taskId, attempt, started_at: startedAt.toISOString(), finished_at: now(), error }).execute());
  }

  /** Marks a task failed; the partition's live version, if any, stays live. */
  async taskFailed(taskId: number, dataset: string, partition: string, error: string, attempts = 1): Promise<void> {
    const at = Date.now();
    await this.write(async (trx) => {
      await trx.updateTable("tasks").set({ status: "failed", error, finished_at: at, attempts }).where("id", "=", taskId).execute();
      await trx
        .insertInto("partitions")
        .values({ dataset, partition, status: "failed", live_task_id: null, last_task_id: taskId, inputs_task_id: null, accepted_fingerprint: null, updated_at: at })
        .onConflict((oc) => oc.columns(["dataset", "partition"]).doUpdateSet({ status: "failed", last_task_id: taskId, updated_at: at }))
        .execute();
    });
  }

  /** Tasks a stopped run never started. Their partitions are left as they were. */
  async tasksInterrupted(taskIds: readonly number[]): Promise<void> {
    await this.write(async (trx) => {
      for (let i = 0; i < taskIds.length; i += INSERT_CHUNK) {
        await trx
          .updateTable("tasks")
          .set({ status: "interrupted", finished_at: Date.now() })
          .where("id", "in", taskIds.slice(i, i + INSERT_CHUNK))
          .execute();
      }
    });
  }

  /** Tasks that did not run because an input failed. Their partitions are left as they were. */
  async tasksBlocked(taskIds: readonly number[], error: string): Promise<void> {
    await this.write(async (trx) => {
      for (let i = 0; i < taskIds.length; i += INSERT_CHUNK) {
        await trx
          .updateTable("tasks")
          .set({ status: "blocked", error, finished_at: Date.now() })
          .where("id", "in", taskIds.slice(i, i + INSERT_CHUNK))
          .execute();
      }
    });
  }

  /**
   * Ends a run and records the definitions of the datasets that are now fully
   * applied. Removed datasets are forgotten, but their partitions and data are
   * kept, so declaring one again with the same code rebuilds nothing.
   */
  async finishRun(
    runId: number,
    status: RunStatus,
    appliedDatasets: readonly AppliedDataset[],
    removedDatasets: readonly string[] = [],
  ): Promise<void> {
    const at = now();
    await this.write(async (trx) => {
      await trx.updateTable("runs").set({ status, finished_at: at }).where("id", "=", runId).execute();
      if (removedDatasets.length > 0) await trx.deleteFrom("datasets").where("name", "in", removedDatasets).execute();
      for (const dataset of appliedDatasets) {
        await trx
          .insertInto("datasets")
          .values({ name: dataset.name, kind: dataset.kind, fingerprint: dataset.fingerprint, metadata: dataset.metadata ?? null, updated_at: at, last_run_id: runId })
          .onConflict((oc) =>
            oc.column("name").doUpdateSet({ kind: dataset.kind, fingerprint: dataset.fingerprint, metadata: dataset.metadata ?? null, updated_at: at, last_run_id: runId }),
          )
          .execute();
      }
    });
  }
}

/**
 * A fenced SQLite transaction begins with a read (the lock's row). If another connection commits
 * between that read and the transaction's first write, SQLite fails the write at once with
 * SQLITE_BUSY_SNAPSHOT, without waiting busy_timeout; the transaction rolled back, so it is run
 * again, after a pause that lets the other connection (in this process or another) finish.
 * (`begin immediate` would wait instead, but synchronously: two connections of one process, as
 * the API allows, would block each other's thread until busy_timeout.)
 */
async function retriedOnStaleRead<T>(sqlite: boolean, transaction: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await transaction();
    } catch (error) {
      if (!sqlite || retry >= 100 || (error as { code?: unknown }).code !== "SQLITE_BUSY_SNAPSHOT") throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
  }
}

/**
 * Settles the runs a dead process left `running` (the caller holds the writer
 * lock, so no live process owns them): a task recorded as built whose version
 * the warehouse shows live was published, and is recorded so; every other
 * unfinished task was interrupted, and its partition stays as it was. A
 * rollback run published all its partitions in one step or none: it is
 * recorded as succeeded if the warehouse shows them live, else interrupted.
 */
export async function reconcileRuns(
  db: Kysely<StateDatabase>,
  liveVersion: (dataset: string, partition: string) => Promise<number | undefined>,
  /** Runs the settling writes in one transaction (a writer's: fenced by its lock). */
  transact: (work: (trx: Transaction<StateDatabase>) => Promise<void>) => Promise<void> = (work) => db.transaction().execute(work),
): Promise<ReconcileResult> {
  const runs = await db.selectFrom("runs").select("id").where("status", "=", "running").execute();
  if (runs.length === 0) return { runs: [], published: 0, interrupted: 0 };
  const runIds = runs.map((r) => r.id);
  const rollbacks = await db
    .selectFrom("rollbacks")
    .select(["run_id", "dataset", "partition", "to_version"])
    .where("run_id", "in", runIds)
    .where("status", "=", "publishing")
    .execute();
  const rolledBackRuns = new Set<number>();
  for (const runId of new Set(rollbacks.map((r) => r.run_id))) {
    const mine = rollbacks.filter((r) => r.run_id === runId);
    let published = true;
    for (const r of mine) if ((await liveVersion(r.dataset, r.partition)) !== r.to_version) published = false;
    if (published) rolledBackRuns.add(runId);
  }
  const unfinished = await db
    .selectFrom("tasks")
    .select(["id", "dataset", "partition", "status"])
    .where("run_id", "in", runIds)
    .where("status", "in", ["pending", "running", "publishing"])
    .execute();
  const published: typeof unfinished = [];
  for (const task of unfinished) {
    if (task.status === "publishing" && (await liveVersion(task.dataset, task.partition)) === task.id) published.push(task);
  }
  const at = Date.now();
  const runAt = new Date(at).toISOString();
  await transact(async (trx) => {
    for (const task of published) await markPublished(trx, task.id, task.dataset, task.partition, at);
    for (const runId of rolledBackRuns) {
      await markRolledBack(trx, runId, at);
      await trx.updateTable("runs").set({ status: "succeeded", finished_at: runAt }).where("id", "=", runId).execute();
    }
    await trx.updateTable("rollbacks").set({ status: "interrupted" }).where("run_id", "in", runIds).where("status", "=", "publishing").execute();
    await trx
      .updateTable("tasks")
      .set({ status: "interrupted", finished_at: at })
      .where("run_id", "in", runIds)
      .where("status", "in", ["pending", "running", "publishing"])
      .execute();
    await trx.updateTable("runs").set({ status: "interrupted", finished_at: runAt }).where("id", "in", runIds).where("status", "=", "running").execute();
  });
  const rolledBack = rollbacks.filter((r) => rolledBackRuns.has(r.run_id)).length;
  return {
    runs: runIds,
    published: published.length + rolledBack,
    interrupted: unfinished.length - published.length + rollbacks.length - rolledBack,
  };
}

export interface ReconcileResult {
  /** Runs that were left running and are now recorded as interrupted. */
  readonly runs: readonly number[];
  /** Tasks found published in the warehouse and recorded as succeeded. */
  readonly published: number;
  readonly interrupted: number;
}

async function markPublished(trx: Kysely<StateDatabase>, taskId: number, dataset: string, partition: string, at: number): Promise<void> {
  await trx.updateTable("tasks").set({ status: "succeeded", finished_at: at }).where("id", "=", taskId).execute();
  await trx
    .insertInto("partitions")
    .values({ dataset, partition, status: "built", live_task_id: taskId, last_task_id: taskId, inputs_task_id: null, accepted_fingerprint: null, updated_at: at })
    .onConflict((oc) =>
      oc
        .columns(["dataset", "partition"])
        .doUpdateSet({ status: "built", live_task_id: taskId, last_task_id: taskId, inputs_task_id: null, accepted_fingerprint: null, updated_at: at }),
    )
    .execute();
}

async function insertRun(trx: Kysely<StateDatabase>, command: string, asOf: Date, tasksTotal: number): Promise<number> {
  const run = await trx
    .insertInto("runs")
    .values({
      command,
      as_of: asOf.toISOString(),
      started_at: now(),
      finished_at: null,
      status: "running",
      host: os.hostname(),
      pid: process.pid,
      tasks_total: tasksTotal,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return run.id;
}

/**
 * A rollback run's versions are live: recorded so. The partition counts as
 * built (the user chose what is live), and its last attempt stays as it was.
 */
async function markRolledBack(trx: Kysely<StateDatabase>, runId: number, at: number): Promise<void> {
  const rows = await trx.selectFrom("rollbacks").select(["dataset", "partition", "to_version"]).where("run_id", "=", runId).execute();
  for (const r of rows) {
    await trx
      .updateTable("partitions")
      .set({ status: "built", live_task_id: r.to_version, inputs_task_id: null, accepted_fingerprint: null, updated_at: at })
      .where("dataset", "=", r.dataset)
      .where("partition", "=", r.partition)
      .execute();
  }
  await trx.updateTable("rollbacks").set({ status: "succeeded" }).where("run_id", "=", runId).execute();
}

/** Runs, datasets and locks keep ISO text; tasks and partitions hold `Date.now()` (see migration 0008). */
function now(): string {
  return new Date().toISOString();
}
