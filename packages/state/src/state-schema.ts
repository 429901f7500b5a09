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
  started_at: string | null;
  finished_at: string | null;
  /** JSON array of the messages of "warn" checks that failed on this version. */
  warnings: string | null;
  /** Attempts made, the last included (null until the task ends). */
  attempts: number | null;
  /** Sources with `sourceVersion()`: the version observed just before the partition was read. */
  source_version: string | null;
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
  updated_at: string;
}

/** The last applied definition of each dataset, to tell added / modified / removed. */
export interface DatasetsTable {
  name: string;
  kind: string;
  fingerprint: string;
  updated_at: string;
  last_run_id: number;
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

export interface StateDatabase {
  fingerprints: FingerprintsTable;
  locks: LocksTable;
  runs: RunsTable;
  tasks: TasksTable;
  task_attempts: TaskAttemptsTable;
  partitions: PartitionsTable;
  datasets: DatasetsTable;
}
