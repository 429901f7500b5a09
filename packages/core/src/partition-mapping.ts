import { durationMs, type Duration } from "./duration.js";
import { isTimePartitions, UNPARTITIONED_KEY, type PartitionScheme } from "./partition-scheme.js";
import { grainKeyAt, grainKeysOverlapping, grainOfKey, grainWindow, type TimeGrain } from "./time-grain.js";

/**
 * Which partitions of an input one partition of a dataset reads. Plain frozen
 * data, so plans can be stored, fingerprinted and explained. Only the forward
 * direction (partition → input keys) is defined here: the planner invalidates
 * readers through the inputs each task records, so the reverse follows exactly.
 */
export type PartitionMapping =
  /** Partition K reads the input's partition K (same grain, or static keys matched by name). */
  | { readonly kind: "identity" }
  /** Every partition reads every partition of the input. */
  | { readonly kind: "all" }
  /** A coarser partition reads every finer input partition that starts inside its window (a month reads its days). */
  | { readonly kind: "rollup" }
  /** A finer partition reads the coarser input partition that contains its start (a day reads its month). */
  | { readonly kind: "fan-out" }
  /** A partition reads the input partitions overlapping the `length` before its window ends (day D, 7 days: D-6…D). */
  | { readonly kind: "window"; readonly length: Duration }
  /** A partition reads the input partitions overlapping its own window moved `by` earlier (day D, 1 day: D-1). */
  | { readonly kind: "offset"; readonly by: Duration }
  /** Every partition reads the newest complete partition of the input. */
  | { readonly kind: "latest" }
  /** A partition reads the input partition right before its own key (same scheme); the only way to read oneself. */
  | { readonly kind: "previous" };

const GRAIN_RANK: Readonly<Record<TimeGrain, number>> = { hourly: 0, daily: 1, weekly: 2, monthly: 3, yearly: 4 };

/**
 * The mapping used when an input does not name one: identity within a grain,
 * rollup from a finer time grain. Reading a coarser input must be asked for (`fanOut`).
 */
export function defaultMapping(input: PartitionScheme, output: PartitionScheme): PartitionMapping | undefined {
  if (input.kind === "unpartitioned" || output.kind === "unpartitioned") return { kind: "all" };
  if (input.kind === output.kind) return { kind: "identity" };
  if (input.kind === "static" || output.kind === "static") return undefined;
  if (GRAIN_RANK[input.kind] < GRAIN_RANK[output.kind]) return { kind: "rollup" };
  return undefined;
}

/** Why a mapping cannot connect these schemes, or undefined when it can. */
export function mappingProblem(mapping: PartitionMapping, input: PartitionScheme, output: PartitionScheme): string | undefined {
  switch (mapping.kind) {
    case "all":
    case "latest":
      return undefined;
    case "identity":
      return input.kind === output.kind ? undefined : `identity needs the same grain on both sides`;
    case "previous":
      if (input.kind === "unpartitioned" || output.kind === "unpartitioned") return `previous needs partitions: an unpartitioned dataset has no previous partition`;
      return input.kind === output.kind ? undefined : `previous needs the same grain on both sides`;
    default: {
      if (!isTimePartitions(input) || !isTimePartitions(output)) return `${mapping.kind} needs time partitions on both sides`;
      if (mapping.kind === "rollup" && GRAIN_RANK[input.kind] >= GRAIN_RANK[output.kind]) return `rollup reads a finer grain into a coarser one`;
      if (mapping.kind === "fan-out" && GRAIN_RANK[input.kind] <= GRAIN_RANK[output.kind]) return `fan-out reads a coarser grain into a finer one`;
      return undefined;
    }
  }
}

/**
 * The input keys a time mapping reads for partition `key`, whether or not they
 * exist yet. Undefined for mappings that are not defined by time.
 */
function candidateKeys(mapping: PartitionMapping, key: string, inputGrain: TimeGrain): string[] | undefined {
  const outputGrain = grainOfKey(key);
  const window = outputGrain && grainWindow(outputGrain, key);
  if (!window) return undefined;
  switch (mapping.kind) {
    case "rollup":
      // "Starts inside" gives each input partition exactly one reader even when grains do not nest (weeks in months).
      return grainKeysOverlapping(inputGrain, window.start, window.end).filter((k) => grainWindow(inputGrain, k)!.start >= window.start);
    case "fan-out":
      return [grainKeyAt(inputGrain, window.start)];
    case "window":
      return grainKeysOverlapping(inputGrain, window.end - durationMs(mapping.length), window.end);
    case "offset": {
      const by = durationMs(mapping.by);
      return grainKeysOverlapping(inputGrain, window.start - by, window.end - by);
    }
    case "previous":
      return [grainKeyAt(inputGrain, window.start - 1)];
    default:
      return undefined;
  }
}

/**
 * The input partitions that partition `key` reads, given the input's current
 * keys (ascending). Keys that do not exist are left out: an identity partition
 * whose input key does not exist reads nothing, and the planner treats such
 * partitions as not yet computable (see `inputPartitionsReady`).
 */
export function mappedInputKeys(mapping: PartitionMapping, key: string, inputKeys: readonly string[], inputKeySet?: ReadonlySet<string>): string[] {
  const set = () => inputKeySet ?? new Set(inputKeys);
  switch (mapping.kind) {
    case "identity":
      return set().has(key) ? [key] : [];
    case "all":
      return [...inputKeys];
    case "latest":
      return inputKeys.length === 0 ? [] : [inputKeys[inputKeys.length - 1]!];
    case "previous":
      // Static keys have no time: the previous one is the one declared before.
      if (grainOfKey(key) === undefined) {
        const at = inputKeys.indexOf(key);
        return at > 0 ? [inputKeys[at - 1]!] : [];
      }
      return timeKeys(mapping, key, inputKeys, set());
    default:
      return timeKeys(mapping, key, inputKeys, set());
  }
}

function timeKeys(mapping: PartitionMapping, key: string, inputKeys: readonly string[], has: ReadonlySet<string>): string[] {
  const inputGrain = inputKeys.length === 0 ? undefined : grainOfKey(inputKeys[0]!);
  if (!inputGrain) return [];
  return (candidateKeys(mapping, key, inputGrain) ?? []).filter((k) => has.has(k));
}

/**
 * Whether every input partition that `key` should read is complete, so the
 * partition can be computed now: a month waits for its last day, a 7-day
 * window for its newest day. Keys outside the input's start/end are not
 * waited for (the first partition of an offset or previous reads nothing).
 */
export function inputPartitionsReady(mapping: PartitionMapping, key: string, input: PartitionScheme, inputKeySet: ReadonlySet<string>): boolean {
  switch (mapping.kind) {
    case "identity":
      return inputKeySet.has(key);
    case "all":
      return true;
    case "latest":
      return inputKeySet.size > 0;
    default: {
      if (!isTimePartitions(input)) return true;
      const expected = (candidateKeys(mapping, key, input.kind) ?? []).filter((k) => k >= input.start && (input.end === undefined || k <= input.end));
      if (mapping.kind !== "offset" && mapping.kind !== "previous" && expected.length === 0) return false;
      return expected.every((k) => inputKeySet.has(k));
    }
  }
}

export function describeMapping(mapping: PartitionMapping): string {
  switch (mapping.kind) {
    case "window":
      return `window ${describeDuration(mapping.length)}`;
    case "offset":
      return `offset ${describeDuration(mapping.by)}`;
    default:
      return mapping.kind;
  }
}

export function describeDuration(duration: Duration): string {
  const parts = Object.entries(duration)
    .filter(([, n]) => n)
    .map(([unit, n]) => `${n} ${n === 1 ? unit.slice(0, -1) : unit}`);
  return parts.length === 0 ? "0" : parts.join(" ");
}

export { UNPARTITIONED_KEY };
