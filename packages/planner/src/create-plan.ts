import { compareNames, inputPartitionsReady, isTimePartitions, mappedInputKeys, partitionKeys, type MappedSchemes, type PartitionScheme } from "@reflow/core";
import type { PartitionState, StateSnapshot } from "@reflow/state";
import {
  planSummaryOf,
  type AcceptedPartitions,
  type CategoryChoice,
  type DatasetChange,
  type Plan,
  type PlannableDataset,
  type PlannedTask,
  type TaskInput,
  type TaskReason,
} from "./plan.js";

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
  /** How each dataset whose code changed is applied; absent: breaking. */
  readonly categories?: ReadonlyMap<string, CategoryChoice>;
  /** Forward-only changes rebuild their built partitions from this key on (`--from`); the caller checks it fits. */
  readonly forwardFrom?: string;
}

const DEFAULT_CHOICE: CategoryChoice = Object.freeze({ category: "breaking", why: "default" });
/** Metadata of a dataset that declares none (the compiler's canonical JSON of an empty object). */
const NO_METADATA = "{}";

/**
 * Compares a compiled project with what was built and lists every partition
 * to (re)build, with its reason. Pure: no I/O, same inputs give the same plan.
 */
export function createPlan(request: PlanRequest): Plan {
  const { datasets, order, state, asOf } = request;
  const keysOf = effectivePartitionKeys(datasets, order, asOf, request.includeIncomplete);
  const completeKeys = request.includeIncomplete ? effectivePartitionKeys(datasets, order, asOf) : keysOf;
  const setOf = keySets();
  const dense = denseKeyLists(asOf);
  const lists = keyLists();
  const planned = new Map<string, ReadonlySet<string>>();
  const tasks: PlannedTask[] = [];
  // The summary's counts, kept as tasks are planned rather than in another pass over them.
  let builds = 0;
  let builtDatasets = 0;
  const changes: DatasetChange[] = [];

  // Tasks of non-breaking changes that rebuild a built partition: their readers only record the new version.
  const softPlanned = new Map<string, Set<string>>();
  const accepted: AcceptedPartitions[] = [];

  for (const name of order) {
    const dataset = datasets.get(name)!;
    const keys = keysOf.get(name)!;
    // Planned keys are added as they are planned only where a reader may look during the loop: the
    // dataset reading its own earlier partitions. Otherwise, while every key so far is planned (all of
    // them, after an edit upstream), only counted; the set of its key list stands for them at the end.
    const readsItself = dataset.inputs.some((input) => input.dataset === name);
    let plannedHere: Set<string> | undefined = readsItself ? new Set<string>() : undefined;
    const softHere = new Set<string>();
    if (plannedHere) planned.set(name, plannedHere);
    softPlanned.set(name, softHere);
    // Without --include-incomplete every key is complete: no lookup per task.
    const complete = completeKeys === keysOf ? undefined : setOf(completeKeys.get(name)!);
    // previous(): the dataset reads its own earlier partitions; keys are visited in
    // ascending order, so `planned` already holds the earlier ones planned here.
    // What each key reads, by input dataset (aliases of one dataset merged), in the order of the
    // inputs: the arrays are refilled for every key rather than allocated (223,745 tasks in the plan benchmark).
    const reads = readsOf(dataset, datasets, keysOf, setOf, lists, planned, softPlanned);
    const previous = state.datasets.get(name);
    const choice = previous && previous.fingerprint !== dataset.fingerprint ? (request.categories?.get(name) ?? DEFAULT_CHOICE) : undefined;
    const position = keyPosition(dataset.partitions);
    const from = choice?.category === "forward-only" && request.forwardFrom !== undefined ? position(request.forwardFrom) : undefined;
    const acceptedHere: string[] = [];
    let buildsHere = 0;
    // Proven up to date from the state's summaries: its partitions are never read.
    const upToDate = !choice && provablyUpToDate(name, dataset, keys, request, planned, dense);
    // Proven built by this code, every key, from the summary: a partition reading a planned input is
    // decided without reading it; the partitions are read only if one needs its recorded inputs.
    const clean = !upToDate && !choice && provenClean(name, dataset, keys, request, dense);
    // Proven all built by other code: each key's verdict is whether it has a partition, so only the keys are read.
    const rebuiltKeys = choice && provenOtherCode(name, dataset, state) ? (state.liveKeys ?? state.liveSourceVersions!)(name) : undefined;
    let read = upToDate || clean || rebuiltKeys ? undefined : state.partitions.get(name);
    let unread = clean;
    const built = {
      get(key: string): PartitionState | undefined {
        if (unread) {
          read = state.partitions.get(name);
          unread = false;
        }
        return read?.get(key);
      },
    };
    const restatedHere = request.restate?.get(name);
    const observedHere = request.observedSources?.get(name);
    // A clean observed source compares each observation with the version its partition recorded, without reading it.
    const recordedVersions = clean && observedHere && observedHere.size > 0 ? state.liveSourceVersions!(name) : undefined;

    let plannedCount = 0;
    for (let index = 0; index < (upToDate ? 0 : keys.length); index++) {
      const key = keys[index]!;
      reads.fill(key, index);
      let verdict: Verdict | undefined | null = clean ? cleanPartitionVerdict(reads, recordedVersions, observedHere?.get(key), key) : null;
      if (verdict === null) verdict = rebuiltKeys ? (rebuiltKeys.has(key) ? CODE_CHANGED_ACCEPTABLE : MISSING) : reasonFor(dataset, built.get(key), reads, state, observedHere?.get(key));
      const restated = restatedHere?.has(key) === true;
      if ((!verdict || verdict.keep) && restated) verdict = RESTATED;
      if (!verdict) continue;
      // Forward-only: a built partition keeps its old logic, accepted as up to date (before --from), unless restated.
      if (verdict.acceptable && !restated && choice?.category === "forward-only" && (from === undefined || position(key) < from)) {
        acceptedHere.push(key);
        continue;
      }
      if (!verdict.keep) {
        if (plannedHere) plannedHere.add(key);
        else if (index > plannedCount) (plannedHere = new Set(keys.slice(0, plannedCount))).add(key);
        else plannedCount += 1;
      }
      if (choice?.category === "non-breaking" && (verdict.reason === "code-changed" || verdict.reason === "failed") && (rebuiltKeys ? rebuiltKeys.has(key) : built.get(key)?.liveVersion != null)) {
        softHere.add(key);
      }
      // Properties in the order the plan has always had them (a saved plan's digest and --out print them).
      const task: { -readonly [K in keyof PlannedTask]: PlannedTask[K] } = {
        dataset: name,
        partition: key,
        reason: verdict.reason,
        fingerprint: dataset.fingerprint,
        inputs: reads.taskInputs(),
      };
      if (complete && !complete.has(key)) task.incomplete = true;
      if (verdict.keep) task.keep = true;
      else buildsHere += 1;
      tasks.push(Object.freeze(task));
    }
    builds += buildsHere;
    if (buildsHere > 0) builtDatasets += 1;
    if (!readsItself) planned.set(name, plannedHere ?? (plannedCount === keys.length ? setOf(keys) : new Set(keys.slice(0, plannedCount))));
    if (acceptedHere.length > 0) accepted.push(Object.freeze({ dataset: name, fingerprint: dataset.fingerprint, partitions: Object.freeze(acceptedHere) }));

    const metadata = dataset.metadata ?? NO_METADATA;
    const metadataChanged = previous !== undefined && !choice && (previous.metadata ?? NO_METADATA) !== metadata;
    changes.push(
      Object.freeze({
        name,
        change: !previous ? "added" : choice || metadataChanged ? "modified" : "unchanged",
        kind: dataset.kind,
        partitionCount: keys.length,
        fingerprint: dataset.fingerprint,
        ...(previous ? { previousFingerprint: previous.fingerprint } : {}),
        ...(choice ? { category: choice.category, why: describeChoice(choice, request.forwardFrom, acceptedHere.length) } : {}),
        ...(metadataChanged ? { category: "metadata" as const, why: `metadata only: recorded, nothing rebuilt (${metadataChanges(previous.metadata, metadata)})` } : {}),
        ...(dataset.metadata !== undefined ? { metadata: dataset.metadata } : {}),
      }),
    );
  }
  for (const [name, previous] of [...state.datasets].sort(([a], [b]) => compareNames(a, b))) {
    if (!datasets.has(name)) changes.push(Object.freeze({ name, change: "removed", partitionCount: 0, previousFingerprint: previous.fingerprint }));
  }

  return Object.freeze({
    asOf,
    datasets: Object.freeze(changes),
    tasks: Object.freeze(tasks),
    summary: planSummaryOf(builds, builtDatasets, tasks.length - builds),
    ...(accepted.length > 0 ? { accepted: Object.freeze(accepted) } : {}),
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
): ReadonlyMap<string, readonly string[]> {
  // One plan asks three times (observing sources, planning, mixed-logic warnings): each result is
  // kept for its (never modified) dataset map, order and instant (1,000 datasets: ~2–5 ms and ~1.3 MB each time).
  let byCall = effectiveKeysMemo.get(datasets);
  if (!byCall) effectiveKeysMemo.set(datasets, (byCall = new Map()));
  const call = `${asOf.getTime()}${includeIncomplete ? "+incomplete" : ""}`;
  const known = byCall.get(call);
  if (known?.order === order) return known.keysOf;
  const keysOf = computeEffectivePartitionKeys(datasets, order, asOf, includeIncomplete);
  byCall.set(call, { order, keysOf });
  return keysOf;
}

const effectiveKeysMemo = new WeakMap<
  ReadonlyMap<string, PlannableDataset>,
  Map<string, { readonly order: readonly string[]; readonly keysOf: ReadonlyMap<string, readonly string[]> }>
>();

function computeEffectivePartitionKeys(
  datasets: ReadonlyMap<string, PlannableDataset>,
  order: readonly string[],
  asOf: Date,
  includeIncomplete: boolean,
): ReadonlyMap<string, readonly string[]> {
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

const NO_KEYS: readonly string[] = Object.freeze([]);
const NO_INPUTS: readonly TaskInput[] = Object.freeze([]);

/**
 * Frozen key lists and task inputs shared between tasks. Most tasks read one
 * key of each input (identity, offset): those lists, and the task input of
 * each input dataset and key, are made once instead of once per task and
 * input (223,745 tasks in the plan benchmark).
 */
interface KeyLists {
  /** The frozen list of one key. */
  single(key: string): readonly string[];
  /** The frozen list of each key of a key list, by position. */
  singlesOf(keys: readonly string[]): readonly (readonly string[])[];
  /** Task inputs of one input dataset: of these keys (unique, any order), sorted and frozen. */
  taskInputs(dataset: string): (keys: readonly string[]) => TaskInput;
  /** Task inputs of one input dataset reading one key of its key list `keys`, by the key's position. */
  taskInputsAt(dataset: string, keys: readonly string[]): (index: number) => TaskInput;
  /** The same, as a task's whole (frozen) `inputs` when it reads that dataset alone. */
  taskInputListsAt(dataset: string, keys: readonly string[]): (index: number) => readonly TaskInput[];
}

function keyLists(): KeyLists {
  const singles = new Map<string, readonly string[]>();
  const singleLists = new Map<readonly string[], readonly (readonly string[])[]>();
  const inputs = new Map<string, (keys: readonly string[]) => TaskInput>();
  const inputsAt = new Map<string, Map<readonly string[], (index: number) => TaskInput>>();
  const single = (key: string) => {
    let list = singles.get(key);
    if (!list) singles.set(key, (list = Object.freeze([key])));
    return list;
  };
  const singlesOf = (keys: readonly string[]) => {
    let lists = singleLists.get(keys);
    if (!lists) singleLists.set(keys, (lists = keys.map(single)));
    return lists;
  };
  const taskInputs = (dataset: string) => {
    let of = inputs.get(dataset);
    if (of) return of;
    const byKey = new Map<string, TaskInput>();
    of = (keys) => {
      if (keys.length !== 1) return Object.freeze({ dataset, partitions: keys.length === 0 ? NO_KEYS : Object.freeze([...keys].sort()) });
      let input = byKey.get(keys[0]!);
      if (!input) byKey.set(keys[0]!, (input = Object.freeze({ dataset, partitions: single(keys[0]!) })));
      return input;
    };
    inputs.set(dataset, of);
    return of;
  };
  const taskInputsAt = (dataset: string, keys: readonly string[]) => {
    let byList = inputsAt.get(dataset);
    if (!byList) inputsAt.set(dataset, (byList = new Map()));
    let at = byList.get(keys);
    if (!at) {
      const lists = singlesOf(keys);
      const byPosition: TaskInput[] = [];
      at = (index) => (byPosition[index] ??= Object.freeze({ dataset, partitions: lists[index]! }));
      byList.set(keys, at);
    }
    return at;
  };
  const inputListsAt = new Map<string, Map<readonly string[], (index: number) => readonly TaskInput[]>>();
  return {
    single,
    singlesOf,
    taskInputs,
    taskInputsAt,
    taskInputListsAt(dataset, keys) {
      let byList = inputListsAt.get(dataset);
      if (!byList) inputListsAt.set(dataset, (byList = new Map()));
      let at = byList.get(keys);
      if (!at) {
        const inputAt = taskInputsAt(dataset, keys);
        const byPosition: (readonly TaskInput[])[] = [];
        at = (index) => (byPosition[index] ??= Object.freeze([inputAt(index)]));
        byList.set(keys, at);
      }
      return at;
    },
  };
}

/**
 * What one key of a dataset reads: for each input dataset (aliases of one
 * dataset merged), in the order of the dataset's inputs, the input keys its
 * mappings select. `fill` overwrites them for the next key.
 */
interface KeyReads {
  readonly datasets: readonly string[];
  /** Unique keys, for each of `datasets`; valid until the next `fill`. */
  readonly keys: readonly (readonly string[])[];
  /** The planned keys of each of `datasets` (visited before this dataset, or this dataset itself), and the soft ones. */
  readonly planned: readonly (ReadonlySet<string> | undefined)[];
  readonly soft: readonly (ReadonlySet<string> | undefined)[];
  /** The key at `index` of the dataset's own key list. */
  fill(key: string, index: number): void;
  /** The task's `inputs` for the keys of the last `fill`. */
  taskInputs(): readonly TaskInput[];
}

function readsOf(
  dataset: PlannableDataset,
  datasets: ReadonlyMap<string, PlannableDataset>,
  keysOf: ReadonlyMap<string, readonly string[]>,
  setOf: (keys: readonly string[]) => ReadonlySet<string>,
  lists: KeyLists,
  planned: ReadonlyMap<string, ReadonlySet<string>>,
  softPlanned: ReadonlyMap<string, ReadonlySet<string>>,
): KeyReads {
  const ownKeys = keysOf.get(dataset.name)!;
  const names: string[] = [];
  const aliases = dataset.inputs.map((input) => {
    let slot = names.indexOf(input.dataset);
    const first = slot < 0;
    if (first) slot = names.push(input.dataset) - 1;
    const schemes: MappedSchemes = { input: datasets.get(input.dataset)!.partitions, output: dataset.partitions };
    const keys = keysOf.get(input.dataset)!;
    // What mappedInputKeys selects for identity between schemes that are not both multi: the key, if the input has it.
    const identity = input.mapping.kind === "identity" && !(schemes.input.kind === "multi" && schemes.output.kind === "multi");
    return {
      mapping: input.mapping,
      schemes,
      keys,
      set: setOf(keys),
      slot,
      first,
      identity,
      // Identity over the very key list of the dataset (most datasets): the key at the same position, always there.
      aligned: identity && keys === ownKeys,
    };
  });
  const keys: (readonly string[])[] = names.map(() => NO_KEYS);
  // For each input dataset, the position of its one key in its key list when aligned, else -1.
  const positions: number[] = names.map(() => -1);
  const singles = lists.singlesOf(ownKeys);
  const inputOf = names.map((name) => lists.taskInputs(name));
  const inputAt = names.map((name) => lists.taskInputsAt(name, ownKeys));
  // Readers of one input dataset share each task's whole `inputs` list; a source's tasks share an empty one.
  const onlyInputAt = names.length === 1 ? lists.taskInputListsAt(names[0]!, ownKeys) : undefined;
  return {
    datasets: names,
    keys,
    // The sets grow while their dataset is visited but are never replaced: looked up once, not per key.
    planned: names.map((name) => planned.get(name)),
    soft: names.map((name) => softPlanned.get(name)),
    fill(key, index) {
      // Indexed loops on the per-key path: for…of left an iterator and its results per key and input where
      // V8 did not optimise them away (about 10 MB of garbage over the plan benchmark's 223,745 tasks).
      for (let a = 0; a < aliases.length; a++) {
        const alias = aliases[a]!;
        const mapped = alias.aligned
          ? singles[index]!
          : alias.identity
            ? alias.set.has(key)
              ? lists.single(key)
              : NO_KEYS
            : mappedInputKeys(alias.mapping, key, alias.schemes, alias.keys, alias.set);
        if (alias.first) {
          keys[alias.slot] = mapped;
          positions[alias.slot] = alias.aligned ? index : -1;
        } else {
          // A second alias of the same dataset adds the keys the first did not select.
          keys[alias.slot] = [...new Set([...keys[alias.slot]!, ...mapped])];
          positions[alias.slot] = -1;
        }
      }
    },
    taskInputs() {
      if (names.length === 0) return NO_INPUTS;
      if (onlyInputAt && positions[0]! >= 0) return onlyInputAt(positions[0]!);
      // Allocated at its length: an array filled by push holds room for 17 (about 150 bytes more per task, and slower to freeze).
      const inputs = new Array<TaskInput>(names.length);
      for (let i = 0; i < names.length; i++) inputs[i] = positions[i]! >= 0 ? inputAt[i]!(positions[i]!) : inputOf[i]!(keys[i]!);
      return Object.freeze(inputs);
    },
  };
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

interface Verdict {
  readonly reason: TaskReason;
  /** code-changed only because the live version was built with other code: forward-only may accept it. */
  readonly acceptable?: true;
  /** upstream-changed only through non-breaking rebuilds: record the new input versions, do not rebuild. */
  readonly keep?: true;
}

const MISSING: Verdict = Object.freeze({ reason: "missing" });
const FAILED: Verdict = Object.freeze({ reason: "failed" });
const CODE_CHANGED: Verdict = Object.freeze({ reason: "code-changed" });
const CODE_CHANGED_ACCEPTABLE: Verdict = Object.freeze({ reason: "code-changed", acceptable: true });
const INCOMPLETE: Verdict = Object.freeze({ reason: "incomplete" });
const SOURCE_CHANGED: Verdict = Object.freeze({ reason: "source-changed" });
const UPSTREAM_CHANGED: Verdict = Object.freeze({ reason: "upstream-changed" });
const KEEP: Verdict = Object.freeze({ reason: "upstream-changed", keep: true });
const RESTATED: Verdict = Object.freeze({ reason: "restated" });

function reasonFor(
  dataset: PlannableDataset,
  partition: PartitionState | undefined,
  reads: KeyReads,
  state: StateSnapshot,
  observed: string | undefined,
): Verdict | undefined {
  if (!partition) return MISSING;
  // Failed wins over code-changed: the user needs to see the partition that is still broken.
  if (partition.status === "failed") return FAILED;
  if (partition.liveVersion === null) return MISSING;
  // Rolled back while the code is the same as then: the live version is not what
  // this code builds, so apply would redo it (code-changed), unless it is pinned.
  // Once the code changes, the rollback says nothing and the usual rules decide.
  if (partition.rollback?.codeFingerprint === dataset.fingerprint) return partition.rollback.pinned ? undefined : CODE_CHANGED;
  // A forward-only apply accepted the old code's version under this fingerprint.
  if (partition.fingerprint !== dataset.fingerprint && partition.acceptedFingerprint !== dataset.fingerprint) return CODE_CHANGED_ACCEPTABLE;
  // Built before it was complete: build it again now that it is (or, with --include-incomplete, while it still grows).
  if (partition.incomplete) return INCOMPLETE;
  if (observed !== undefined) {
    const recorded = observed.startsWith("v:") ? partition.sourceVersion : `c:${partition.contentHash}`;
    if (recorded !== observed) return SOURCE_CHANGED;
  }
  // Planned inputs first: after an edit most readers are decided here, without
  // comparing (or parsing) the input versions they recorded.
  let soft = false;
  for (let i = 0; i < reads.datasets.length; i++) {
    const plannedUpstream = reads.planned[i];
    if (!plannedUpstream || plannedUpstream.size === 0) continue;
    const softUpstream = reads.soft[i];
    const keys = reads.keys[i]!;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (!plannedUpstream.has(key)) continue;
      // Soft tasks are planned too: a reader of only those keeps its version.
      if (softUpstream?.has(key)) soft = true;
      else return UPSTREAM_CHANGED;
    }
  }
  for (let i = 0; i < reads.datasets.length; i++) {
    const input = reads.datasets[i]!;
    const keys = reads.keys[i]!;
    const recorded = partition.inputs[input] ?? {};
    const live = state.partitions.get(input);
    if (Object.keys(recorded).length !== keys.length) return UPSTREAM_CHANGED;
    for (const key of keys) {
      if (recorded[key] === undefined || recorded[key] !== live?.get(key)?.liveVersion) return UPSTREAM_CHANGED;
    }
  }
  return soft ? KEEP : undefined;
}

/**
 * The verdict on a partition the summary proves built with the current code
 * (live, complete, not accepted, never rolled back), as `reasonFor` would
 * find: source-changed when its observation differs from the source version
 * it recorded (`recordedVersions`, given for observed sources), upstream-changed
 * through a planned input, nothing when it reads no input, or null when only
 * its recorded inputs can tell (then the caller reads it and asks `reasonFor`).
 */
function cleanPartitionVerdict(
  reads: KeyReads,
  recordedVersions: ReadonlyMap<string, string | null> | undefined,
  observed: string | undefined,
  key: string,
): Verdict | undefined | null {
  if (observed !== undefined && (recordedVersions!.get(key) ?? undefined) !== observed) return SOURCE_CHANGED;
  for (let i = 0; i < reads.datasets.length; i++) {
    const plannedUpstream = reads.planned[i];
    if (!plannedUpstream || plannedUpstream.size === 0) continue;
    const softUpstream = reads.soft[i];
    const keys = reads.keys[i]!;
    for (let k = 0; k < keys.length; k++) if (plannedUpstream.has(keys[k]!) && !softUpstream?.has(keys[k]!)) return UPSTREAM_CHANGED;
  }
  // Nothing read, so no recorded input can differ (a source).
  return reads.datasets.length === 0 ? undefined : null;
}

/**
 * Whether a dataset's summary proves that its partitions are exactly its
 * keys, each built by the current code (fingerprint unchanged, so the same
 * partition scheme: the key-set test of `provablyUpToDate` holds), with a live
 * version, complete, not accepted under another fingerprint and never rolled
 * back. Such a partition's reason is then a changed observation's, a
 * planned input's or, failing that, its recorded inputs' (see `reasonFor`).
 * A dataset whose code changed is read: its rows may hold keys of an older
 * scheme. Restated partitions, and sources observed by content (`c:`: the
 * recorded content hash is in the rows) or without the snapshot's
 * `liveSourceVersions`, are decided from their rows.
 */
function provenClean(
  name: string,
  dataset: PlannableDataset,
  keys: readonly string[],
  request: PlanRequest,
  dense: (scheme: PartitionScheme, keys: readonly string[]) => boolean,
): boolean {
  const { state } = request;
  if (!state.summaries || keys.length === 0 || !isTimePartitions(dataset.partitions)) return false;
  if ((request.restate?.get(name)?.size ?? 0) > 0) return false;
  // An observed source is decided here only by `sourceVersion()` (`v:`), against the recorded versions the snapshot offers.
  const observed = request.observedSources?.get(name);
  if (observed && observed.size > 0) {
    if (!state.liveSourceVersions) return false;
    for (const version of observed.values()) if (!version.startsWith("v:")) return false;
  }
  const own = state.summaries.get(name);
  if (!own || own.rollbacks > 0 || own.clean !== own.partitions || own.fingerprint !== dataset.fingerprint) return false;
  return own.partitions === keys.length && own.firstKey === keys[0] && own.lastKey === keys[keys.length - 1] && dense(dataset.partitions, keys);
}

/**
 * Whether a dataset whose code changed has, by its summary, only partitions
 * built by other code: each with a live version built with the one other
 * fingerprint on record, complete, not accepted and never rolled back. Then
 * `reasonFor` finds each of its keys code-changed (acceptable) if it has a
 * partition and missing if not, before anything else of the partition counts
 * (its inputs, source version or completeness), so the keys with a live
 * version (`liveSourceVersions`, every partition here) are all the plan
 * needs: not the partitions, which may also hold keys of an older scheme.
 */
function provenOtherCode(name: string, dataset: PlannableDataset, state: StateSnapshot): boolean {
  if (!state.summaries || !state.liveSourceVersions) return false;
  const own = state.summaries.get(name);
  return own !== undefined && own.rollbacks === 0 && own.clean === own.partitions && own.fingerprint !== null && own.fingerprint !== dataset.fingerprint;
}

/** Mappings whose partitions read a fixed set of input keys (those that exist), not a test over the input's keys. */
const EXACT_MAPPINGS: ReadonlySet<string> = new Set(["identity", "rollup", "fan-out", "window", "offset"]);

/**
 * Whether the state's summaries prove a dataset whose code did not change up
 * to date, so that none of its partitions need reading: every partition of
 * its keys is built with this fingerprint (complete, not accepted, never
 * rolled back), nothing it reads is planned, and each partition recorded its
 * inputs (built or checked) after every input's newest live version existed.
 * Version ids grow with each task, tasks are created in plan order (inputs
 * first) and a reader waits for the planned inputs it reads, so such a
 * partition read exactly the versions live now; a rollback can make an older
 * version live, so any on record forces the full check. Mappings that read
 * by a test over the input's keys (`all`, `latest`, multi and static
 * dimensions) and `previous()` are always checked in full, as are sources
 * observed for changes, restated partitions and `--include-incomplete`.
 */
function provablyUpToDate(
  name: string,
  dataset: PlannableDataset,
  keys: readonly string[],
  request: PlanRequest,
  planned: ReadonlyMap<string, ReadonlySet<string>>,
  dense: (scheme: PartitionScheme, keys: readonly string[]) => boolean,
): boolean {
  const { state } = request;
  if (!state.summaries || request.includeIncomplete || keys.length === 0) return false;
  if (state.datasets.get(name)?.fingerprint !== dataset.fingerprint) return false;
  if ((request.restate?.get(name)?.size ?? 0) > 0 || (request.observedSources?.get(name)?.size ?? 0) > 0) return false;
  // What needs no query first: most datasets below an edit read a planned input.
  for (const input of dataset.inputs) {
    if (input.dataset === name || !EXACT_MAPPINGS.has(input.mapping.kind) || (planned.get(input.dataset)?.size ?? 0) > 0) return false;
    if (!isTimePartitions(dataset.partitions) || !isTimePartitions(request.datasets.get(input.dataset)!.partitions)) return false;
  }
  const own = state.summaries.get(name);
  if (!own || own.rollbacks > 0 || own.clean !== own.partitions || own.fingerprint !== dataset.fingerprint || own.oldestChecked === null) return false;
  // Exactly these keys are built: as many, the same first and last, and no key of the scheme between them left out.
  if (own.partitions !== keys.length || own.firstKey !== keys[0] || own.lastKey !== keys[keys.length - 1] || !dense(dataset.partitions, keys)) return false;
  for (const input of dataset.inputs) {
    const upstream = state.summaries.get(input.dataset);
    if (!upstream || upstream.rollbacks > 0 || upstream.newestLive === null || upstream.newestLive >= own.oldestChecked) return false;
  }
  return true;
}

/**
 * Whether a key list is every key of its scheme from its first to its last:
 * the scheme's keys as of `asOf` sort as strings (time keys do) and the list
 * is a contiguous run of them. Then any set of valid keys of that scheme with
 * as many members and the same first and last key is this list.
 */
function denseKeyLists(asOf: Date): (scheme: PartitionScheme, keys: readonly string[]) => boolean {
  const verdicts = new Map<readonly string[], boolean>();
  const schemeKeys = new Map<string, readonly string[] | undefined>();
  return (scheme, keys) => {
    let verdict = verdicts.get(keys);
    if (verdict !== undefined) return verdict;
    const id = JSON.stringify(scheme);
    let all = schemeKeys.get(id);
    if (!schemeKeys.has(id)) {
      const list = partitionKeys(scheme, asOf);
      all = list.every((key, i) => i === 0 || list[i - 1]! < key) ? list : undefined;
      schemeKeys.set(id, all);
    }
    const start = all ? all.indexOf(keys[0]!) : -1;
    verdict = start >= 0 && all![start + keys.length - 1] === keys[keys.length - 1];
    verdicts.set(keys, verdict);
    return verdict;
  };
}

/** `forward-only (--forward-only, from 2024-01-04): 3 built partitions keep their old logic` */
function describeChoice(choice: CategoryChoice, forwardFrom: string | undefined, acceptedCount: number): string {
  if (choice.category !== "forward-only") return `${choice.category} (${choice.why})`;
  const head = `forward-only (${choice.why}${forwardFrom !== undefined ? `, from ${forwardFrom}` : ""})`;
  if (acceptedCount === 0) return head;
  return `${head}: ${acceptedCount} built partition${acceptedCount === 1 ? " keeps its" : "s keep their"} old logic`;
}

/** The metadata fields that differ (`description, owner`), or that it is recorded for the first time. */
function metadataChanges(before: string | undefined, after: string): string {
  if (before === undefined) return "first recorded";
  const old = JSON.parse(before) as Record<string, unknown>;
  const now = JSON.parse(after) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(now), ...Object.keys(old)])].filter((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k]));
  return `${fields.join(", ")} changed`;
}

/** Sort position of a partition key: time keys sort as strings; static keys go in their declared order. */
export function keyPosition(scheme: PartitionScheme): (key: string) => string | number {
  return scheme.kind === "static" ? (key) => scheme.keys.indexOf(key) : (key) => key;
}
