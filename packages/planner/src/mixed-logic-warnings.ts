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
  const keysOf = effectivePartitionKeys(context.datasets, context.order, plan.asOf);
  // The keys each dataset rebuilds, in plan order (a dataset's by key). Most rebuild a first run of
  // their keys (every key, after an edit): only counted, a list made only for a dataset that does not.
  const builds = new Map<string, RebuiltKeys>();
  let entry: RebuiltKeys | undefined;
  // Indexed: for…of made an iterator result per task here (~9 MB on the plan benchmark's 223,745).
  const tasks = plan.tasks;
  for (let t = 0; t < tasks.length; t++) {
    const task = tasks[t]!;
    if (task.keep) continue;
    if (task.dataset !== entry?.dataset) {
      entry = builds.get(task.dataset);
      if (!entry) builds.set(task.dataset, (entry = { dataset: task.dataset, keys: keysOf.get(task.dataset) ?? [], count: 0 }));
    }
    if (!entry.listed && entry.keys[entry.count] === task.partition) entry.count += 1;
    else (entry.listed ??= entry.keys.slice(0, entry.count)).push(task.partition);
  }
  const redefined = new Set(plan.datasets.filter((d) => d.change === "modified").map((d) => d.name));
  const warnings: MixedLogicWarning[] = [];
  for (const name of context.order) {
    const rebuilt = builds.get(name);
    if (!rebuilt && !redefined.has(name)) continue;
    const keys = keysOf.get(name)!;
    // Counted to the last key: every key rebuilt, which mixedLogic would find and not warn about.
    if (rebuilt && !rebuilt.listed && rebuilt.count === keys.length) continue;
    const warning = mixedLogic(context.datasets.get(name)!, keys, rebuilt ? (rebuilt.listed ?? keys.slice(0, rebuilt.count)) : [], context.state);
    if (warning) warnings.push(warning);
  }
  const { warnings: _previous, ...rest } = plan;
  return Object.freeze({ ...rest, ...(warnings.length > 0 ? { warnings: Object.freeze(warnings) } : {}) });
}

/** A dataset's rebuilt keys: the first `count` of its `keys`, or, once they are not, `listed`. */
interface RebuiltKeys {
  readonly dataset: string;
  readonly keys: readonly string[];
  count: number;
  listed?: string[];
}

function mixedLogic(dataset: PlannableDataset, keys: readonly string[], rebuilt: readonly string[], state: StateSnapshot): MixedLogicWarning | undefined {
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
