import os from "node:os";
import type { Kysely } from "kysely";
import type { InputVersions } from "./state-snapshot.js";
import type { RunStatus, StateDatabase } from "./state-schema.js";

export interface PlannedTaskRecord {
  readonly dataset: string;
  readonly partition: string;
  readonly reason: string;
  readonly fingerprint: string;
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

const INSERT_CHUNK = 500;

/**
 * Every write to the state store. Each method is one transaction, so state
 * is consistent after a crash at any point.
 */
export class StateWriter {
  constructor(private readonly db: Kysely<StateDatabase>) {}

  /** See `reconcileRuns`. Call it holding the writer lock, before planning. */
  reconcile(liveVersion: (dataset: string, partition: string) => Promise<number | undefined>): Promise<ReconcileResult> {
    return reconcileRuns(this.db, liveVersion);
  }

  /** Records a run and all its planned tasks as pending; returns the run id and a task id per planned task, in order. */
  async beginRun(
    command: string,
    asOf: Date,
    tasks: readonly PlannedTaskRecord[],
    /** JSON manifest of each fingerprint the tasks are built with, kept for `explain`. */
    manifests: ReadonlyMap<string, string> = new Map(),
  ): Promise<{ runId: number; taskIds: number[] }> {
    return this.db.transaction().execute(async (trx) => {
      for (const [fingerprint, manifest] of manifests) {
        await trx.insertInto("fingerprints").values({ fingerprint, manifest }).onConflict((oc) => oc.column("fingerprint").doNothing()).execute();
      }
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
          tasks_total: tasks.length,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const taskIds: number[] = [];
      for (let i = 0; i < tasks.length; i += INSERT_CHUNK) {
        const chunk = tasks.slice(i, i + INSERT_CHUNK).map((task) => ({
          run_id: run.id,
          dataset: task.dataset,
          partition: task.partition,
          reason: task.reason,
          status: "pending" as const,
          fingerprint: task.fingerprint,
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
    await this.db
      .updateTable("tasks")
      .set({
        status: "publishing",
        inputs: JSON.stringify(result.inputs),
        row_count: result.rowCount,
        content_hash: result.contentHash,
        warnings: result.warnings?.length ? JSON.stringify(result.warnings) : null,
        attempts: result.attempts ?? 1,
        source_version: result.sourceVersion ?? null,
      })
      .where("id", "=", taskId)
      .execute();
  }

  /** Marks a built task succeeded and makes its version the live one of its partition. */
  async taskSucceeded(taskId: number, dataset: string, partition: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => markPublished(trx, taskId, dataset, partition, now()));
  }

  /**
   * Early cutoff: the partition's live version stays live and is recorded as
   * built from `inputs`, whose content equals what it was built from.
   */
  async taskUnchanged(taskId: number, dataset: string, partition: string, inputs: InputVersions): Promise<void> {
    const at = now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("tasks").set({ status: "unchanged", inputs: JSON.stringify(inputs), finished_at: at }).where("id", "=", taskId).execute();
      await trx
        .updateTable("partitions")
        .set({ status: "built", inputs_task_id: taskId, last_task_id: taskId, updated_at: at })
        .where("dataset", "=", dataset)
        .where("partition", "=", partition)
        .execute();
    });
  }

  /** Records a failed attempt that will be retried. */
  async attemptFailed(taskId: number, attempt: number, startedAt: Date, error: string): Promise<void> {
    await this.db.insertInto("task_attempts").values({ task_id: taskId, attempt, started_at: startedAt.toISOString(), finished_at: now(), error }).execute();
  }

  /** Marks a task failed; the partition's live version, if any, stays live. */
  async taskFailed(taskId: number, dataset: string, partition: string, error: string, attempts = 1): Promise<void> {
    const at = now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("tasks").set({ status: "failed", error, finished_at: at, attempts }).where("id", "=", taskId).execute();
      await trx
        .insertInto("partitions")
        .values({ dataset, partition, status: "failed", live_task_id: null, last_task_id: taskId, inputs_task_id: null, updated_at: at })
        .onConflict((oc) => oc.columns(["dataset", "partition"]).doUpdateSet({ status: "failed", last_task_id: taskId, updated_at: at }))
        .execute();
    });
  }

  /** Tasks a stopped run never started. Their partitions are left as they were. */
  async tasksInterrupted(taskIds: readonly number[]): Promise<void> {
    for (let i = 0; i < taskIds.length; i += INSERT_CHUNK) {
      await this.db
        .updateTable("tasks")
        .set({ status: "interrupted", finished_at: now() })
        .where("id", "in", taskIds.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }

  /** Tasks that did not run because an input failed. Their partitions are left as they were. */
  async tasksBlocked(taskIds: readonly number[], error: string): Promise<void> {
    for (let i = 0; i < taskIds.length; i += INSERT_CHUNK) {
      await this.db
        .updateTable("tasks")
        .set({ status: "blocked", error, finished_at: now() })
        .where("id", "in", taskIds.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }

  /**
   * Ends a run and records the definitions of the datasets that are now fully
   * applied. Removed datasets are forgotten, but their partitions and data are
   * kept, so declaring one again with the same code rebuilds nothing.
   */
  async finishRun(
    runId: number,
    status: RunStatus,
    appliedDatasets: readonly { name: string; kind: string; fingerprint: string }[],
    removedDatasets: readonly string[] = [],
  ): Promise<void> {
    const at = now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("runs").set({ status, finished_at: at }).where("id", "=", runId).execute();
      if (removedDatasets.length > 0) await trx.deleteFrom("datasets").where("name", "in", removedDatasets).execute();
      for (const dataset of appliedDatasets) {
        await trx
          .insertInto("datasets")
          .values({ name: dataset.name, kind: dataset.kind, fingerprint: dataset.fingerprint, updated_at: at, last_run_id: runId })
          .onConflict((oc) => oc.column("name").doUpdateSet({ kind: dataset.kind, fingerprint: dataset.fingerprint, updated_at: at, last_run_id: runId }))
          .execute();
      }
    });
  }
}

/**
 * Settles the runs a dead process left `running` (the caller holds the writer
 * lock, so no live process owns them): a task recorded as built whose version
 * the warehouse shows live was published, and is recorded so; every other
 * unfinished task was interrupted, and its partition stays as it was.
 */
export async function reconcileRuns(
  db: Kysely<StateDatabase>,
  liveVersion: (dataset: string, partition: string) => Promise<number | undefined>,
): Promise<ReconcileResult> {
  const runs = await db.selectFrom("runs").select("id").where("status", "=", "running").execute();
  if (runs.length === 0) return { runs: [], published: 0, interrupted: 0 };
  const runIds = runs.map((r) => r.id);
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
  const at = now();
  await db.transaction().execute(async (trx) => {
    for (const task of published) await markPublished(trx, task.id, task.dataset, task.partition, at);
    await trx
      .updateTable("tasks")
      .set({ status: "interrupted", finished_at: at })
      .where("run_id", "in", runIds)
      .where("status", "in", ["pending", "running", "publishing"])
      .execute();
    await trx.updateTable("runs").set({ status: "interrupted", finished_at: at }).where("id", "in", runIds).execute();
  });
  return { runs: runIds, published: published.length, interrupted: unfinished.length - published.length };
}

export interface ReconcileResult {
  /** Runs that were left running and are now recorded as interrupted. */
  readonly runs: readonly number[];
  /** Tasks found published in the warehouse and recorded as succeeded. */
  readonly published: number;
  readonly interrupted: number;
}

async function markPublished(trx: Kysely<StateDatabase>, taskId: number, dataset: string, partition: string, at: string): Promise<void> {
  await trx.updateTable("tasks").set({ status: "succeeded", finished_at: at }).where("id", "=", taskId).execute();
  await trx
    .insertInto("partitions")
    .values({ dataset, partition, status: "built", live_task_id: taskId, last_task_id: taskId, inputs_task_id: null, updated_at: at })
    .onConflict((oc) =>
      oc.columns(["dataset", "partition"]).doUpdateSet({ status: "built", live_task_id: taskId, last_task_id: taskId, inputs_task_id: null, updated_at: at }),
    )
    .execute();
}

function now(): string {
  return new Date().toISOString();
}
