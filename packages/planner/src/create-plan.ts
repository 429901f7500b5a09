import { inputPartitionsReady, isTimePartitions, mappedInputKeys, partitionKeys, type MappedSchemes, type PartitionScheme } from "@reflow/core";
import type { PartitionState, StateSnapshot } from "@reflow/state";
import type { DatasetChange, Plan, PlannableDataset, PlannedTask, TaskInput, TaskReason } from "./plan.js";

export interface PlanRequest {
  readonly datasets: ReadonlyMap<string, PlannableDataset>;
  /** Dataset names, every input before its readers. */
  readonly order: readonly string[];
  readonly state: StateSnapshot;
  readonly asOf: Date;
  /**
   * The current version of built source partitions (`v:` from sourceVersion(),
   * `c:` + content hash otherwise), by source: a difference from what the
   * partition was read at makes it `source-changed`.
   */
  readonly observedSources?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Partitions to recompute even if up to date (`backfill --restate`), by dataset. */
  readonly restate?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Also plan partitions that are not complete yet (`--include-incomplete`); their tasks say `incomplete`. */
  readonly includeIncomplete?: boolean;
}

/**
 * Compares a compiled project with what was built and lists every partition
 * to (re)build, with its reason. Pure: no I/O, same inputs give the same plan.
 */
export function createPlan(request: PlanRequest): Plan {
  const { datasets, order, state, asOf } = request;
  const keysOf = effectivePartitionKeys(datasets, order, asOf, request.includeIncomplete);
  const completeKeys = request.includeIncomplete ? effectivePartitionKeys(datasets, order, asOf) : keysOf;
  const setOf = keySets();
  const planned = new Map<string, Set<string>>();
  const tasks: PlannedTask[] = [];
  const changes: DatasetChange[] = [];

  for (const name of order) {
    const dataset = datasets.get(name)!;
    const keys = keysOf.get(name)!;
    const built = state.partitions.get(name);
    const plannedHere = new Set<string>();
    planned.set(name, plannedHere);
    const complete = setOf(completeKeys.get(name)!);
    // previous(): the dataset reads its own earlier partitions; keys are visited in
    // ascending order, so `planned` already holds the earlier ones planned here.
    const inputKeys = dataset.inputs.map((input) => ({
      input,
      schemes: { input: datasets.get(input.dataset)!.partitions, output: dataset.partitions },
      keys: keysOf.get(input.dataset)!,
      set: setOf(keysOf.get(input.dataset)!),
    }));

    for (const key of keys) {
      const reads = new Map<string, Set<string>>();
      for (const { input, schemes, keys: upstreamKeys, set } of inputKeys) {
        let partitions = reads.get(input.dataset);
        if (!partitions) reads.set(input.dataset, (partitions = new Set()));
        for (const k of mappedInputKeys(input.mapping, key, schemes, upstreamKeys, set)) partitions.add(k);
      }
      const reason =
        reasonFor(dataset, built?.get(key), reads, planned, state, request.observedSources?.get(name)?.get(key)) ??
        (request.restate?.get(name)?.has(key) ? "restated" : undefined);
      if (!reason) continue;
      plannedHere.add(key);
      tasks.push(
        Object.freeze({
          dataset: name,
          partition: key,
          reason,
          fingerprint: dataset.fingerprint,
          inputs: Object.freeze([...reads].map(([input, partitions]): TaskInput => Object.freeze({ dataset: input, partitions: Object.freeze([...partitions].sort()) }))),
          ...(complete.has(key) ? {} : { incomplete: true as const }),
        }),
      );
    }

    const previous = state.datasets.get(name);
    changes.push(
      Object.freeze({
        name,
        change: !previous ? "added" : previous.fingerprint === dataset.fingerprint ? "unchanged" : "modified",
        kind: dataset.kind,
        partitionCount: keys.length,
        fingerprint: dataset.fingerprint,
        ...(previous ? { previousFingerprint: previous.fingerprint } : {}),
      }),
    );
  }
  for (const [name, previous] of [...state.datasets].sort(([a], [b]) => a.localeCompare(b))) {
    if (!datasets.has(name)) changes.push(Object.freeze({ name, change: "removed", partitionCount: 0, previousFingerprint: previous.fingerprint }));
  }

  const touched = new Set(tasks.map((t) => t.dataset));
  return Object.freeze({
    asOf,
    datasets: Object.freeze(changes),
    tasks: Object.freeze(tasks),
    summary: Object.freeze({ tasks: tasks.length, datasets: touched.size }),
  });
}

/**
 * The partitions each dataset has as of an instant: those of its own scheme
 * whose mapped input partitions all exist too (a daily dataset cannot compute
 * a day its daily input does not have yet, nor a month before its last day).
 * With `includeIncomplete`, also the partitions not complete yet, reading
 * whatever their inputs have so far (a month reads the days up to today).
 */
export function effectivePartitionKeys(
  datasets: ReadonlyMap<string, PlannableDataset>,
  order: readonly string[],
  asOf: Date,
  includeIncomplete = false,
): Map<string, readonly string[]> {
  const keysOf = new Map<string, readonly string[]>();
  // Most datasets share a scheme and their inputs' keys: compute each distinct
  // key list, and each lookup set, once (1,000 daily datasets made 365,000 dates each plan).
  const schemeKeys = new Map<string, readonly string[]>();
  const setOf = keySets();
  for (const name of order) {
    const dataset = datasets.get(name)!;
    const scheme = JSON.stringify(dataset.partitions);
    let keys = schemeKeys.get(scheme);
    if (!keys) schemeKeys.set(scheme, (keys = Object.freeze(partitionKeys(dataset.partitions, asOf, includeIncomplete))));
    for (const input of dataset.inputs) {
      if (input.dataset === name) continue; // previous() of itself: its earlier partitions are its own keys
      const upstream = keysOf.get(input.dataset)!;
      if (input.mapping.kind === "identity" && upstream === keys) continue; // the same list: every key is available
      const available = setOf(upstream);
      const declared = datasets.get(input.dataset)!.partitions;
      // Incomplete partitions read what exists so far: nothing past the input's newest key is waited for.
      const readable: PartitionScheme = includeIncomplete && isTimePartitions(declared) ? { ...declared, end: upstream[upstream.length - 1] ?? declared.start } : declared;
      const schemes: MappedSchemes = { input: readable, output: dataset.partitions };
      keys = Object.freeze(keys.filter((key) => inputPartitionsReady(input.mapping, key, schemes, available)));
    }
    keysOf.set(name, keys);
  }
  return keysOf;
}

/** A Set of a key list, built once per distinct list: datasets share their key lists. */
function keySets(): (keys: readonly string[]) => ReadonlySet<string> {
  const sets = new Map<readonly string[], ReadonlySet<string>>();
  return (keys) => {
    let set = sets.get(keys);
    if (!set) sets.set(keys, (set = new Set(keys)));
    return set;
  };
}

function reasonFor(
  dataset: PlannableDataset,
  partition: PartitionState | undefined,
  reads: ReadonlyMap<string, ReadonlySet<string>>,
  planned: ReadonlyMap<string, ReadonlySet<string>>,
  state: StateSnapshot,
  observed: string | undefined,
): TaskReason | undefined {
  if (!partition) return "missing";
  // Failed wins over code-changed: the user needs to see the partition that is still broken.
  if (partition.status === "failed") return "failed";
  if (partition.liveVersion === null) return "missing";
  // Rolled back while the code is the same as then: the live version is not what
  // this code builds, so apply would redo it (code-changed), unless it is pinned.
  // Once the code changes, the rollback says nothing and the usual rules decide.
  if (partition.rollback?.codeFingerprint === dataset.fingerprint) return partition.rollback.pinned ? undefined : "code-changed";
  if (partition.fingerprint !== dataset.fingerprint) return "code-changed";
  // Built before it was complete: build it again now that it is (or, with --include-incomplete, while it still grows).
  if (partition.incomplete) return "incomplete";
  if (observed !== undefined) {
    const recorded = observed.startsWith("v:") ? partition.sourceVersion : `c:${partition.contentHash}`;
    if (recorded !== observed) return "source-changed";
  }
  for (const [input, keys] of reads) {
    const plannedUpstream = planned.get(input);
    const recorded = partition.inputs[input] ?? {};
    const live = state.partitions.get(input);
    if (Object.keys(recorded).length !== keys.size) return "upstream-changed";
    for (const key of keys) {
      if (plannedUpstream?.has(key)) return "upstream-changed";
      if (recorded[key] === undefined || recorded[key] !== live?.get(key)?.liveVersion) return "upstream-changed";
    }
  }
  return undefined;
}
