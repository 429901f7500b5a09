import type { CompiledProject } from "@reflow/compiler";
import { partitionRange, ReflowError, UNPARTITIONED_KEY } from "@reflow/core";
import { createPlan, effectivePartitionKeys, selectBackfill, type Plan } from "@reflow/planner";
import type { StateSnapshot } from "@reflow/state";
import { checkPartitionRange, declaredDataset, partitionPosition } from "./declared-dataset.js";
import { planRequest, warnAboutMixedLogic } from "./plan-project.js";
import type { ResolvedCategories } from "./change-categories.js";
import type { ObservedSources } from "./observe-sources.js";

/** `reflow backfill DATASET [--from KEY] [--to KEY] [--restate] [--downstream]`. */
export interface BackfillRequest {
  readonly dataset: string;
  /** First partition key of the range (inclusive); default: the dataset's first. */
  readonly from?: string;
  /** Last partition key of the range (inclusive); default: the dataset's last complete one. */
  readonly to?: string;
  /** Recompute every partition in the range, even those up to date (reason `restated`). */
  readonly restate?: boolean;
  /** Also rebuild everything that reads the backfilled partitions. */
  readonly downstream?: boolean;
  /** The range may include partitions not complete yet (`--include-incomplete`). */
  readonly includeIncomplete?: boolean;
}

/** The partition keys a backfill covers as of an instant; refuses unknown datasets and bad ranges. */
export function backfillKeys(project: CompiledProject, request: BackfillRequest, asOf: Date): string[] {
  const dataset = declaredDataset(project, request.dataset);
  const keys = effectivePartitionKeys(project.datasets, project.order, asOf, request.includeIncomplete).get(request.dataset)!;
  if (dataset.partitions.kind === "unpartitioned") {
    if (request.from !== undefined || request.to !== undefined) {
      throw new ReflowError("REFLOW_INVALID_ARGUMENT", `dataset "${request.dataset}" is unpartitioned: --from and --to do not apply`);
    }
    return [UNPARTITIONED_KEY];
  }
  checkPartitionRange(dataset, request.from, request.to);
  const selected = keys.filter(partitionRange(dataset.partitions, request.from, request.to));
  if (selected.length === 0) {
    const range = `${request.from ?? "the start"} … ${request.to ?? "the end"}`;
    throw new ReflowError(
      "REFLOW_INVALID_ARGUMENT",
      `dataset "${request.dataset}" has no partitions in ${range} as of ${asOf.toISOString()}${keys.length > 0 ? ` (it has ${keys[0]} … ${keys[keys.length - 1]})` : ""}`,
    );
  }
  return selected;
}

/** The plan of a backfill: the full plan (with the range restated if asked), narrowed to the backfill. */
export function backfillPlan(
  project: CompiledProject,
  snapshot: StateSnapshot,
  asOf: Date,
  request: BackfillRequest,
  observedSources?: ObservedSources,
  /** The categories of changed datasets (from their `reprocess` and auto-detection: backfill takes no flags). */
  resolved?: ResolvedCategories,
): Plan {
  const keys = new Set(backfillKeys(project, request, asOf));
  const full = createPlan({
    ...planRequest(project, snapshot, asOf, observedSources),
    ...(resolved ? { categories: resolved.categories } : {}),
    ...(request.restate ? { restate: new Map([[request.dataset, keys]]) } : {}),
    ...(request.includeIncomplete ? { includeIncomplete: true } : {}),
  });
  const selected = selectBackfill(full, { dataset: request.dataset, keys, restate: request.restate ?? false, downstream: request.downstream ?? false });
  return warnAboutMixedLogic(selected, project, snapshot);
}
