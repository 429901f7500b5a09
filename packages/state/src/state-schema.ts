import type { Generated } from "kysely";

/** One `reflow apply` (or later, backfill): what it was asked to do and how it ended. */
export interface RunsTable {
  id: Generated<number>;
  command: string;
  as_of: string;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  host: string;
  pid: number;
  tasks_total: number;
}

export type RunStatus = "running" | "succeeded" | "failed" | "interrupted";

/**
 * One planned partition build in a run. A succeeded task IS a partition
 * version: its id is the version id in the warehouse, and it records what the
 * version was built from (fingerprint, input versions) and what it holds.
 */
export interface TasksTable {
  id: Generated<number>;
  run_id: number;
  dataset: string;
  partition: string;
  reason: string;
  status: TaskStatus;
  fingerprint: string;
  /** JSON `{ inputDataset: { partition: versionId } }` of the input versions read. */
  inputs: string | null;
  row_count: number | null;
  content_hash: string | null;
  error: string | null;
  /** Times of a task (and of a partition) are integer milliseconds since the epoch: they are written once per version. */
  started_at: number | null;
  finished_at: number | null;
  /** JSON array of the messages of "warn" checks that failed on this version. */
  warnings: string | null;
  /** Attempts made, the last included (null until the task ends). */
  attempts: number | null;
  /** Sources with `sourceVersion()`: the version observed just before the partition was read. */
  source_version: string | null;
  /** When `reflow gc` deleted this version's rows from the warehouse (null while kept). */
  purged_at: number | null;
  /** 1: planned with `--include-incomplete` before its partition was complete; built again once it is. */
  incomplete: number | null;
}

/** A failed attempt of a task that was retried. */
export interface TaskAttemptsTable {
  task_id: number;
  attempt: number;
  started_at: string;
  finished_at: string;
  error: string;
}

/**
 * `publishing`: built, validated and recorded, about to be published. A run
 * killed at that moment is settled by `reconcile` from what the warehouse shows.
 * `interrupted`: the run stopped (killed, Ctrl-C) before the task was published.
 * `unchanged`: not rebuilt, because everything it reads was rebuilt with identical content (early cutoff).
 */
export type TaskStatus = "pending" | "running" | "publishing" | "succeeded" | "unchanged" | "failed" | "blocked" | "interrupted";

/** The current state of every partition ever attempted. */
export interface PartitionsTable {
  dataset: string;
  partition: string;
  /** `built` when the last attempt succeeded, `failed` when it failed (the live version, if any, stays live). */
  status: "built" | "failed";
  /** The task whose output is live, or null if none ever succeeded. */
  live_task_id: number | null;
  last_task_id: number;
  /**
   * Early cutoff: a task that found the live version's inputs rebuilt with
   * identical content, and recorded the new input versions instead of
   * rebuilding. The planner reads the live version's inputs from it. Null: from the live task.
   */
  inputs_task_id: number | null;
  /**
   * Forward-only: the dataset fingerprint under which the live version (built
   * with older code) is accepted as up to date. Cleared when another version goes live.
   */
  accepted_fingerprint: string | null;
  /** Milliseconds since the epoch. */
  updated_at: number;
}

/** The last applied definition of each dataset, to tell added / modified / removed. */
export interface DatasetsTable {
  name: string;
  kind: string;
  fingerprint: string;
  /** Canonical JSON of the applied metadata (description, owner, tags, checks, retries…); null before it was recorded. */
  metadata: string | null;
  updated_at: string;
  last_run_id: number;
}

/**
 * One partition republished by a `reflow rollback` run. The newest succeeded
 * row of a partition whose `to_version` is still live marks it rolled back:
 * a later build gets a new version id, which no rollback row names.
 */
export interface RollbacksTable {
  id: Generated<number>;
  run_id: number;
  dataset: string;
  partition: string;
  /** The version that was live, or null if none was. */
  from_version: number | null;
  to_version: number;
  /** The dataset's fingerprint when it was rolled back: the mark holds while the code is unchanged. */
  code_fingerprint: string;
  /** 1: plan leaves the partition alone while the code is unchanged. */
  pinned: number;
  /** `publishing` until the warehouse has it live; a crash in between is settled by `reconcile`. */
  status: "publishing" | "succeeded" | "interrupted";
}

/** The writer lock: who holds it, and until when its lease runs without a heartbeat. */
export interface LocksTable {
  name: string;
  host: string;
  pid: number;
  command: string;
  acquired_at: string;
  lease_expires_at: string;
}

/** What a dataset fingerprint was made of (the compiler's manifest, as JSON). */
export interface FingerprintsTable {
  fingerprint: string;
  manifest: string;
}

/** Printed source of one piece of fingerprinted code, by its canonical hash: what plan diffs show. */
export interface FingerprintSourcesTable {
  hash: string;
  source: string;
}

/**
 * One unit of a distributed run (`apply --distribute`), dispatched by the
 * coordinator and built by whichever process claims it (`reflow worker`).
 * `ready` → `claimed` (lease running) → `built`/`failed` (result JSON), then
 * deleted by the coordinator when it records the result. A claim whose lease
 * ran out is claimed again with a new token; reports carry the token, so a
 * claimer that lost its claim cannot overwrite the new claimer's result.
 */
export interface WorkQueueTable {
  id: Generated<number>;
  run_id: number;
  dataset: string;
  /** The dataset fingerprint the plan builds with: a claimer with other code refuses the unit. */
  fingerprint: string;
  /** The unit's first task id (its version id), for logs. */
  first_task_id: number;
  /** JSON: what to build (the engine's `DispatchedUnit` builds). */
  payload: string;
  status: "ready" | "claimed" | "built" | "failed";
  /** `host:pid` of the last claimer. */
  claimed_by: string | null;
  token: string | null;
  /** Claims so far: more than 1 means an earlier claimer's lease ran out. */
  claims: number;
  lease_until: string | null;
  /** JSON: the engine's `UnitOutcome`. */
  result: string | null;
}

export interface StateDatabase {
  work_queue: WorkQueueTable;
  fingerprints: FingerprintsTable;
  fingerprint_sources: FingerprintSourcesTable;
  locks: LocksTable;
  runs: RunsTable;
  tasks: TasksTable;
  task_attempts: TaskAttemptsTable;
  partitions: PartitionsTable;
  datasets: DatasetsTable;
  rollbacks: RollbacksTable;
}
