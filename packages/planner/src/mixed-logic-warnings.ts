import type { PartitionState, StateSnapshot } from "@reflow/state";
import { effectivePartitionKeys } from "./create-plan.js";
import { fingerprintRanges } from "./fingerprint-ranges.js";
import type { KeyRange, MixedLogicWarning, Plan, PlannableDataset } from "./plan.js";

export interface MixedLogicContext {
  readonly datasets: ReadonlyMap<string, PlannableDataset>;
  readonly order: readonly string[];
  /** The state the plan was made from. */
  readonly state: StateSnapshot;
}

/**
 * The plan with a warning for each dataset it builds or redefines that it
 * leaves with more than one fingerprint live, as if every task succeeded:
 * forward-only changes, `--max-tasks`, a backfill of a sub-range. Call it on
 * the plan that will run (after narrowing it).
 */
export function withMixedLogicWarnings(plan: Plan, context: MixedLogicContext): Plan {
  // Keys in plan order (a dataset's by key): a Set only for a dataset whose rebuilt keys are not exactly its keys.
  const builds = new Map<string, string[]>();
  let keys: string[] | undefined;
  let last: string | undefined;
  for (const task of plan.tasks) {
    if (task.keep) continue;
    if (task.dataset !== last) {
      last = task.dataset;
      keys = builds.get(last);
      if (!keys) builds.set(last, (keys = []));
    }
    keys!.push(task.partition);
  }
  const redefined = new Set(plan.datasets.filter((d) => d.change === "modified").map((d) => d.name));
  const keysOf = effectivePartitionKeys(context.datasets, context.order, plan.asOf);
  const warnings: MixedLogicWarning[] = [];
  for (const name of context.order) {
    if (!builds.has(name) && !redefined.has(name)) continue;
    const warning = mixedLogic(context.datasets.get(name)!, keysOf.get(name)!, builds.get(name) ?? [], context.state);
    if (warning) warnings.push(warning);
  }
  const { warnings: _previous, ...rest } = plan;
  return Object.freeze({ ...rest, ...(warnings.length > 0 ? { warnings: Object.freeze(warnings) } : {}) });
}

function mixedLogic(dataset: PlannableDataset, keys: readonly string[], rebuilt: readonly string[], state: StateSnapshot): MixedLogicWarning | undefined {
  // Every key rebuilt: one fingerprint, no warning (the common case after an edit, without grouping each key).
  if (rebuilt.length === keys.length && rebuilt.every((key, i) => key === keys[i])) return undefined;
  const built: ReadonlySet<string> = new Set(rebuilt);
  if (built.size >= keys.length && keys.every((key) => built.has(key))) return undefined;
  // Read only if a key is not rebuilt: a plan rebuilding every key may not have read them.
  let partitions: ReadonlyMap<string, PartitionState> | undefined;
  const partitionOf = (key: string) => (partitions ??= state.partitions.get(dataset.name) ?? new Map()).get(key);
  const fingerprintOf = (key: string): string | undefined => {
    if (built.has(key)) return dataset.fingerprint;
    const live = partitionOf(key);
    return live?.liveVersion != null ? (live.fingerprint ?? undefined) : undefined;
  };
  const versions = fingerprintRanges(keys, fingerprintOf);
  if (versions.size < 2) return undefined;
  // The oldest run whose code is still live, to name each older version.
  const firstRun = new Map<string, number>();
  for (const key of keys) {
    const run = built.has(key) ? undefined : partitionOf(key)?.liveRun;
    const fingerprint = fingerprintOf(key);
    if (run !== undefined && fingerprint !== undefined) firstRun.set(fingerprint, Math.min(firstRun.get(fingerprint) ?? Infinity, run));
  }
  const lastKey = keys[keys.length - 1];
  const entries = [...versions].map(([fingerprint, version]) => ({
    fingerprint,
    label:
      fingerprint === dataset.fingerprint
        ? built.size > 0
          ? "this plan"
          : "current code"
        : firstRun.has(fingerprint)
          ? `code of run ${firstRun.get(fingerprint)}`
          : `code ${fingerprint.slice(0, 8)}`,
    ranges: Object.freeze(version.ranges.map((r): KeyRange => Object.freeze({ ...r }))),
  }));
  const text = entries.map((e) => `${e.ranges.map((r) => formatKeyRange(r, lastKey)).join(", ")} (${e.label})`).join(", ");
  return Object.freeze({
    dataset: dataset.name,
    message: `warning: ${dataset.name} will have ${entries.length} logic versions live: ${text}`,
    versions: Object.freeze(entries),
  });
}

/** `2024-01-01…2024-03-31`; `2024-04-01…` when it runs to the newest partition; one key alone. */
function formatKeyRange(range: KeyRange, lastKey: string | undefined): string {
  if (range.last === lastKey) return `${range.first}…`;
  return range.count === 1 ? range.first : `${range.first}…${range.last}`;
}
