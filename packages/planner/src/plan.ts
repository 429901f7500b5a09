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

/**
 * How a modified dataset is applied. `breaking`: its full history and
 * everything downstream are rebuilt. `non-breaking`: it is rebuilt, its
 * readers are not (they record the new input versions). `forward-only`: built
 * partitions keep their old logic (from `--from` on they are rebuilt); new ones
 * use the new code. `metadata`: only metadata changed; nothing is rebuilt.
 */
export type ChangeCategory = "breaking" | "non-breaking" | "forward-only" | "metadata";

export const CHANGE_CATEGORIES: readonly ChangeCategory[] = ["breaking", "non-breaking", "forward-only", "metadata"];

/**
 * What the user asked for on the command line (`--breaking`, `--non-breaking`,
 * `--forward-only NAME`, `--from KEY`); saved with a plan so `apply FILE` plans the same way.
 */
export interface CategoryFlags {
  readonly breaking?: readonly string[];
  readonly nonBreaking?: readonly string[];
  readonly forwardOnly?: readonly string[];
  readonly from?: string;
}

/** The category chosen for a dataset whose code changed, and why (`--non-breaking`, auto-detected…). */
export interface CategoryChoice {
  readonly category: "breaking" | "non-breaking" | "forward-only";
  /** Why, for people: `--forward-only`, `auto: adds optional column \`x\`; no reader references it`. */
  readonly why: string;
}

/** The dataset facts the planner needs; a compiled dataset satisfies it. */
export interface PlannableDataset {
  readonly name: string;
  readonly kind: "source" | "dataset";
  readonly partitions: PartitionScheme;
  readonly inputs: readonly { readonly alias: string; readonly dataset: string; readonly mapping: PartitionMapping }[];
  readonly fingerprint: string;
  /** Canonical JSON of its metadata (description, owner, tags, checks…); not part of the fingerprint. */
  readonly metadata?: string;
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
  /**
   * Not rebuilt: every input it reads that changed is rebuilt by a
   * non-breaking change, so apply only records the new input versions once they are built.
   */
  readonly keep?: true;
}

export interface DatasetChange {
  readonly name: string;
  readonly change: DatasetChangeKind;
  readonly kind?: "source" | "dataset";
  /** Partitions the dataset has at the plan's as-of (0 for removed datasets). */
  readonly partitionCount: number;
  readonly fingerprint?: string;
  readonly previousFingerprint?: string;
  /** Modified datasets: how the change is applied. */
  readonly category?: ChangeCategory;
  /** Modified datasets: the category and why, for people (`non-breaking (--non-breaking)`). */
  readonly why?: string;
  /** Canonical JSON of the metadata, recorded by apply. */
  readonly metadata?: string;
}

/** Forward-only: built partitions whose live versions (older code) apply records as up to date under `fingerprint`. */
export interface AcceptedPartitions {
  readonly dataset: string;
  readonly fingerprint: string;
  readonly partitions: readonly string[];
}

/** Consecutive partition keys (in the dataset's order). */
export interface KeyRange {
  readonly first: string;
  readonly last: string;
  readonly count: number;
}

/** A dataset the plan leaves with more than one version of its code live. */
export interface MixedLogicWarning {
  readonly dataset: string;
  /** `warning: revenue will have 2 logic versions live: 2024-01-01…2024-01-03 (code of run 1), 2024-01-04… (this plan)` */
  readonly message: string;
  /** Each fingerprint live after the plan, in the order of its first partition. */
  readonly versions: readonly {
    readonly fingerprint: string;
    /** `this plan`, `current code` (live already, not built by this plan) or `code of run N`. */
    readonly label: string;
    readonly ranges: readonly KeyRange[];
  }[];
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
  /** Tasks that build (`keep` tasks excluded), the datasets they build, and `keep` tasks when there are any. */
  readonly summary: PlanSummary;
  /** Forward-only acceptances apply records (with the run, whatever becomes of its tasks). */
  readonly accepted?: readonly AcceptedPartitions[];
  /** Datasets this plan leaves with more than one logic version live (set by `withMixedLogicWarnings`). */
  readonly warnings?: readonly MixedLogicWarning[];
  /**
   * Tasks of the full plan left for a later apply, and their datasets (not
   * recorded as applied): cut by `--max-tasks`, or outside a backfill's selection.
   */
  readonly deferred?: { readonly tasks: number; readonly datasets: readonly string[]; readonly by: "max-tasks" | "backfill" };
}

export interface PlanSummary {
  readonly tasks: number;
  readonly datasets: number;
  /** `keep` tasks: partitions not rebuilt that record new input versions (non-breaking changes upstream). */
  readonly kept?: number;
}

export function planSummary(tasks: readonly PlannedTask[]): PlanSummary {
  // One pass, no copy of the task list (223,745 tasks in the plan benchmark); a dataset's tasks are mostly consecutive.
  let builds = 0;
  let last: string | undefined;
  const datasets = new Set<string>();
  for (const task of tasks) {
    if (task.keep) continue;
    builds += 1;
    if (task.dataset !== last) datasets.add((last = task.dataset));
  }
  return planSummaryOf(builds, datasets.size, tasks.length - builds);
}

/** The summary of `builds` tasks that build, in `datasets` datasets, and `kept` keep tasks. */
export function planSummaryOf(builds: number, datasets: number, kept: number): PlanSummary {
  return Object.freeze({ tasks: builds, datasets, ...(kept > 0 ? { kept } : {}) });
}

/** The machine-readable form of a plan, as `reflow plan --json` prints it. */
export interface PlanJson {
  readonly asOf: string;
  readonly datasets: readonly { readonly name: string; readonly change: DatasetChangeKind; readonly category?: ChangeCategory; readonly why?: string }[];
  /** Partitions to build. */
  readonly tasks: readonly { readonly dataset: string; readonly partition: string; readonly reason: TaskReason; readonly incomplete?: true }[];
  /** Partitions not rebuilt that record the new versions of inputs a non-breaking change rebuilds. */
  readonly kept?: readonly { readonly dataset: string; readonly partition: string }[];
  /** Forward-only: built partitions that keep their old logic, accepted as up to date. */
  readonly accepted?: readonly { readonly dataset: string; readonly partitions: number }[];
  readonly warnings?: readonly MixedLogicWarning[];
  readonly summary: PlanSummary;
}

export function planToJson(plan: Plan): PlanJson {
  const tasks: { dataset: string; partition: string; reason: TaskReason; incomplete?: true }[] = [];
  const kept: { dataset: string; partition: string }[] = [];
  for (const t of plan.tasks) {
    if (t.keep) kept.push({ dataset: t.dataset, partition: t.partition });
    else tasks.push(t.incomplete ? { dataset: t.dataset, partition: t.partition, reason: t.reason, incomplete: true } : { dataset: t.dataset, partition: t.partition, reason: t.reason });
  }
  return planJsonWith(plan, tasks, kept.length > 0 ? kept : undefined);
}

/**
 * The fields of `planToJson`, in its order, with the given task lists in
 * their places: `planJsonChunks` puts placeholders there and prints the
 * lists itself, so both always print the same fields in the same order.
 */
export function planJsonWith<T, K>(
  plan: Plan,
  tasks: T,
  kept: K | undefined,
): Omit<PlanJson, "tasks" | "kept"> & { readonly tasks: T; readonly kept?: K } {
  return {
    asOf: plan.asOf.toISOString(),
    datasets: plan.datasets.map((d) => ({ name: d.name, change: d.change, ...(d.category ? { category: d.category, why: d.why! } : {}) })),
    tasks,
    ...(kept !== undefined ? { kept } : {}),
    ...(plan.accepted?.length ? { accepted: plan.accepted.map((a) => ({ dataset: a.dataset, partitions: a.partitions.length })) } : {}),
    ...(plan.warnings?.length ? { warnings: plan.warnings } : {}),
    summary: { ...plan.summary },
  };
}
