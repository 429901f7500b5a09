import type { PartitionMapping, PartitionScheme } from "@reflow/core";

/** Why a partition is in a plan. */
export type TaskReason =
  /** Never built. */
  | "missing"
  /** Its dataset's fingerprint differs from the one its live version was built with, or it was rolled back since the code last changed. */
  | "code-changed"
  /** Its last attempt failed. */
  | "failed"
  /** A source partition whose raw data changed since it was read (late data, a corrected export). */
  | "source-changed"
  /** An input partition it reads was rebuilt since, or is rebuilt by this plan. */
  | "upstream-changed"
  /** Its live version was built before the partition was complete (`--include-incomplete`). */
  | "incomplete"
  /** Up to date, recomputed because `reflow backfill --restate` asked for it. */
  | "restated";

/** In order of precedence: a partition gets the first reason that applies. */
export const TASK_REASONS: readonly TaskReason[] = ["missing", "failed", "code-changed", "incomplete", "source-changed", "upstream-changed", "restated"];

export type DatasetChangeKind = "added" | "modified" | "unchanged" | "removed";

/** The dataset facts the planner needs; a compiled dataset satisfies it. */
export interface PlannableDataset {
  readonly name: string;
  readonly kind: "source" | "dataset";
  readonly partitions: PartitionScheme;
  readonly inputs: readonly { readonly alias: string; readonly dataset: string; readonly mapping: PartitionMapping }[];
  readonly fingerprint: string;
}

/** The input partitions one task reads from one input dataset. */
export interface TaskInput {
  readonly dataset: string;
  readonly partitions: readonly string[];
}

export interface PlannedTask {
  readonly dataset: string;
  readonly partition: string;
  readonly reason: TaskReason;
  /** The fingerprint the partition will be built with. */
  readonly fingerprint: string;
  /** Exactly what the task reads, per input dataset (merged across aliases). */
  readonly inputs: readonly TaskInput[];
  /** The partition is not complete yet (planned with `--include-incomplete`): it is built again once it is. */
  readonly incomplete?: true;
}

export interface DatasetChange {
  readonly name: string;
  readonly change: DatasetChangeKind;
  readonly kind?: "source" | "dataset";
  /** Partitions the dataset has at the plan's as-of (0 for removed datasets). */
  readonly partitionCount: number;
  readonly fingerprint?: string;
  readonly previousFingerprint?: string;
}

/**
 * A plan is frozen data: what `plan` prints is exactly what `apply` runs.
 * Tasks are in topological order (every input's tasks before its readers'),
 * then by partition key.
 */
export interface Plan {
  readonly asOf: Date;
  readonly datasets: readonly DatasetChange[];
  readonly tasks: readonly PlannedTask[];
  readonly summary: { readonly tasks: number; readonly datasets: number };
  /**
   * Tasks of the full plan left for a later apply, and their datasets (not
   * recorded as applied): cut by `--max-tasks`, or outside a backfill's selection.
   */
  readonly deferred?: { readonly tasks: number; readonly datasets: readonly string[]; readonly by: "max-tasks" | "backfill" };
}

/** The machine-readable form of a plan, as `reflow plan --json` prints it. */
export interface PlanJson {
  readonly asOf: string;
  readonly datasets: readonly { readonly name: string; readonly change: DatasetChangeKind }[];
  readonly tasks: readonly { readonly dataset: string; readonly partition: string; readonly reason: TaskReason; readonly incomplete?: true }[];
  readonly summary: { readonly tasks: number; readonly datasets: number };
}

export function planToJson(plan: Plan): PlanJson {
  return {
    asOf: plan.asOf.toISOString(),
    datasets: plan.datasets.map((d) => ({ name: d.name, change: d.change })),
    tasks: plan.tasks.map((t) => ({ dataset: t.dataset, partition: t.partition, reason: t.reason, ...(t.incomplete ? { incomplete: true as const } : {}) })),
    summary: { ...plan.summary },
  };
}
