import { durationMs, type Duration } from "./duration.js";
import { crossKeys, dimensionIndex, splitMultiKey } from "./multi-partitions.js";
import { isTimePartitions, UNPARTITIONED_KEY, type MultiPartitions, type PartitionScheme, type SimplePartitions, type TimePartitions } from "./partition-scheme.js";
import { grainKeyAt, grainKeysOverlapping, grainWindow, type TimeGrain } from "./time-grain.js";

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
  /**
   * One side is multi: its dimension `dimension` is connected to the other side through `of`,
   * and its other dimension is read whole (a day reads every region of that day) or fed whole
   * (a day feeds every region of that day). `of` is filled in by the compiler when not given.
   */
  | { readonly kind: "dimension"; readonly dimension: string; readonly of?: PartitionMapping }
  /** A partition reads the input partition right before its own key (same scheme); the only way to read oneself. */
  | { readonly kind: "previous" };

const GRAIN_RANK: Readonly<Record<TimeGrain, number>> = { hourly: 0, daily: 1, weekly: 2, monthly: 3, yearly: 4 };

/**
 * The mapping used when an input does not name one: identity within a grain,
 * rollup from a finer time grain. Reading a coarser input must be asked for
 * (`fanOut`), and so must reading a multi input into one dimension (`dimension`).
 * Between two multi schemes with the same dimensions, the time dimensions' default
 * applies and static dimensions match by key; a one-dimension input feeds the
 * one dimension of a multi dataset it has a default mapping to.
 */
export function defaultMapping(input: PartitionScheme, output: PartitionScheme): PartitionMapping | undefined {
  if (input.kind === "unpartitioned" || output.kind === "unpartitioned") return { kind: "all" };
  if (input.kind === "multi" && output.kind === "multi") {
    if (!sameDimensionNames(input, output)) return undefined;
    const time = input.dimensions.findIndex((d) => isTimePartitions(d.scheme));
    const mapping = time < 0 ? { kind: "identity" as const } : defaultMapping(input.dimensions[time]!.scheme, output.dimensions[time]!.scheme);
    return mapping && !mappingProblem(mapping, input, output) ? mapping : undefined;
  }
  if (input.kind === "multi") return undefined;
  if (output.kind === "multi") {
    const fits = output.dimensions.flatMap((d) => {
      const of = defaultMapping(input, d.scheme);
      return of && of.kind !== "all" && !mappingProblem(of, input, d.scheme) ? [{ kind: "dimension" as const, dimension: d.name, of }] : [];
    });
    return fits.length === 1 ? fits[0] : undefined;
  }
  if (input.kind === output.kind) return { kind: "identity" };
  if (input.kind === "static" || output.kind === "static") return undefined;
  if (GRAIN_RANK[input.kind] < GRAIN_RANK[output.kind]) return { kind: "rollup" };
  return undefined;
}

/**
 * A `dimension` mapping without `of` gets the default between that dimension and
 * the other side; every other mapping is returned as it is.
 */
export function resolveMapping(mapping: PartitionMapping, input: PartitionScheme, output: PartitionScheme): PartitionMapping {
  if (mapping.kind !== "dimension" || mapping.of !== undefined) return mapping;
  const sides = dimensionSides(mapping, input, output);
  const of = sides && defaultMapping(sides.input, sides.output);
  return of ? Object.freeze({ ...mapping, of }) : mapping;
}

/** Why a mapping cannot connect these schemes, or undefined when it can. */
export function mappingProblem(mapping: PartitionMapping, input: PartitionScheme, output: PartitionScheme): string | undefined {
  if (mapping.kind === "all") return undefined;
  if (mapping.kind === "dimension") {
    if ((input.kind === "multi") === (output.kind === "multi")) return `dimension() connects a multi dataset with a dataset of one dimension`;
    const multiSide = (input.kind === "multi" ? input : output) as MultiPartitions;
    if (dimensionIndex(multiSide, mapping.dimension) < 0) {
      return `the multi side has no dimension "${mapping.dimension}" (it has ${multiSide.dimensions.map((d) => d.name).join(", ")})`;
    }
    if (!mapping.of) return `no default mapping between dimension "${mapping.dimension}" and the other side: wrap the input, e.g. dimension(rollup(input), "${mapping.dimension}")`;
    if (mapping.of.kind === "dimension") return `dimension() cannot wrap another dimension()`;
    if (mapping.of.kind === "latest" && input.kind === "multi") return `latest through a dimension of a multi input is not supported`;
    const sides = dimensionSides(mapping, input, output)!;
    const problem = mappingProblem(mapping.of, sides.input, sides.output);
    return problem && `dimension "${mapping.dimension}": ${problem}`;
  }
  if (mapping.kind === "latest") {
    // Every partition reads the newest one: fine into a multi dataset, ambiguous out of one.
    return input.kind === "multi" ? `latest needs an input of one dimension (a multi input has one newest partition per ${otherNames(input)})` : undefined;
  }
  if (mapping.kind === "previous") {
    if (input.kind === "unpartitioned" || output.kind === "unpartitioned") return `previous needs partitions: an unpartitioned dataset has no previous partition`;
    if (input.kind === "multi" || output.kind === "multi") return `previous needs partitions of one dimension`;
    if (input.kind !== output.kind) return `previous needs the same grain on both sides`;
    if (input.kind === "static") return undefined;
  }
  if (input.kind === "multi" || output.kind === "multi") {
    if (input.kind !== "multi" || output.kind !== "multi") {
      const multiSide = (input.kind === "multi" ? input : output) as MultiPartitions;
      return `${mapping.kind} connects datasets of the same dimensions: say which dimension of the multi side this reads, e.g. dimension(input, "${multiSide.dimensions[0]!.name}")`;
    }
    if (!sameDimensionNames(input, output)) return `the multi schemes have different dimensions (${input.dimensions.map((d) => d.name).join(", ")} vs ${output.dimensions.map((d) => d.name).join(", ")})`;
    for (const [i, d] of input.dimensions.entries()) {
      const other = output.dimensions[i]!.scheme;
      const problem = d.scheme.kind === "static" || other.kind === "static" ? mappingProblem({ kind: "identity" }, d.scheme, other) : mappingProblem(mapping, d.scheme, other);
      if (problem) return `dimension "${d.name}": ${problem}`;
    }
    return undefined;
  }
  if (mapping.kind === "identity" && input.kind !== output.kind) return `identity needs the same grain on both sides`;
  if (mapping.kind !== "identity" && (!isTimePartitions(input) || !isTimePartitions(output))) return `${mapping.kind} needs time partitions on both sides`;
  if (isTimePartitions(input) && isTimePartitions(output) && input.timezone !== output.timezone) {
    // Windows of different zones overlap partly (a New York day spans two UTC days): refuse rather than guess.
    return `${mapping.kind} needs the same time zone on both sides (${input.timezone ?? "UTC"} vs ${output.timezone ?? "UTC"})`;
  }
  if (mapping.kind === "rollup" && GRAIN_RANK[(input as TimePartitions).kind] >= GRAIN_RANK[(output as TimePartitions).kind]) return `rollup reads a finer grain into a coarser one`;
  if (mapping.kind === "fan-out" && GRAIN_RANK[(input as TimePartitions).kind] <= GRAIN_RANK[(output as TimePartitions).kind]) return `fan-out reads a coarser grain into a finer one`;
  return undefined;
}

function sameDimensionNames(a: MultiPartitions, b: MultiPartitions): boolean {
  return a.dimensions.map((d) => d.name).join() === b.dimensions.map((d) => d.name).join();
}

function otherNames(scheme: PartitionScheme): string {
  return scheme.kind === "multi" ? scheme.dimensions.filter((d) => !isTimePartitions(d.scheme)).map((d) => d.name).join(" and ") || "key" : "key";
}

/** The two one-dimension schemes a `dimension` mapping's `of` connects. */
function dimensionSides(mapping: { readonly dimension: string }, input: PartitionScheme, output: PartitionScheme): { input: PartitionScheme; output: PartitionScheme } | undefined {
  const pick = (scheme: MultiPartitions) => scheme.dimensions.find((d) => d.name === mapping.dimension)?.scheme;
  if (input.kind === "multi" && output.kind !== "multi") {
    const dimension = pick(input);
    return dimension && { input: dimension, output };
  }
  if (output.kind === "multi" && input.kind !== "multi") {
    const dimension = pick(output);
    return dimension && { input, output: dimension };
  }
  return undefined;
}

/**
 * Which input keys one partition reads, whether or not they exist yet:
 * exactly these keys, every key matching a test, or the newest key.
 */
type Selection = { readonly exact: readonly string[] } | { readonly where: (inputKey: string) => boolean } | { readonly latest: true };

const EVERYTHING: Selection = { where: () => true };

/** The selection of a mapping between two schemes of one dimension. */
function simpleSelection(mapping: PartitionMapping, key: string, input: PartitionScheme, output: PartitionScheme): Selection {
  switch (mapping.kind) {
    case "identity":
      return { exact: [key] };
    case "all":
      return EVERYTHING;
    case "latest":
      return { latest: true };
    case "dimension":
      throw new Error(`internal: a dimension mapping between schemes of one dimension`);
    case "previous":
      // Static keys have no time: the previous one is the one declared before.
      if (input.kind === "static") {
        const at = input.keys.indexOf(key);
        return { exact: at > 0 ? [input.keys[at - 1]!] : [] };
      }
      return timeSelection(mapping, key, input, output);
    default:
      return timeSelection(mapping, key, input, output);
  }
}

function timeSelection(mapping: PartitionMapping, key: string, input: PartitionScheme, output: PartitionScheme): Selection {
  if (!isTimePartitions(input) || !isTimePartitions(output)) return { exact: [] };
  const window = grainWindow(output.kind, key);
  return { exact: window ? timeCandidates(mapping, window, input.kind) : [] };
}

/** The input keys a time mapping reads for a window (wall milliseconds: both sides share a zone). */
function timeCandidates(mapping: PartitionMapping, window: { start: number; end: number }, inputGrain: TimeGrain): string[] {
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
      return [];
  }
}

function selection(mapping: PartitionMapping, key: string, input: PartitionScheme, output: PartitionScheme): Selection {
  if (mapping.kind === "all") return EVERYTHING;
  if (mapping.kind === "dimension") {
    const of = mapping.of ?? { kind: "identity" as const };
    if (output.kind === "multi") {
      // One-dimension input feeding a multi dataset: read through this key's value of that dimension.
      const index = dimensionIndex(output, mapping.dimension);
      const value = splitMultiKey(output, key)?.[index];
      return value === undefined ? { exact: [] } : simpleSelection(of, value, input, output.dimensions[index]!.scheme);
    }
    if (input.kind !== "multi") return { exact: [] };
    // A multi input read into one dimension: the mapped values of that dimension, every value of the other.
    const index = dimensionIndex(input, mapping.dimension);
    const inner = simpleSelection(of, key, input.dimensions[index]!.scheme, output);
    if (!("exact" in inner)) return "latest" in inner ? { exact: [] } : EVERYTHING;
    const other = input.dimensions.find((_, i) => i !== index)!.scheme;
    if (other.kind === "static") return { exact: crossKeys(input.dimensions.map((d, i) => (i === index ? inner.exact : other.keys))) };
    const wanted = new Set(inner.exact);
    return { where: (inputKey) => wanted.has(splitMultiKey(input, inputKey)?.[index] ?? "") };
  }
  if (input.kind === "multi" && output.kind === "multi") {
    // The mapping applies to the time dimension; static dimensions match by key.
    const values = splitMultiKey(output, key);
    if (!values) return { exact: [] };
    const perDimension = input.dimensions.map((d, i) => {
      const inner = d.scheme.kind === "static" ? { exact: [values[i]!] } : simpleSelection(mapping, values[i]!, d.scheme, output.dimensions[i]!.scheme as SimplePartitions);
      return "exact" in inner ? inner.exact : [];
    });
    return { exact: crossKeys(perDimension) };
  }
  return simpleSelection(mapping, key, input, output);
}

/** Whether an input key lies within the input's declared start/end (keys outside are never waited for). */
function withinInputRange(input: PartitionScheme, inputKey: string): boolean {
  if (isTimePartitions(input)) return inputKey >= input.start && (input.end === undefined || inputKey <= input.end);
  if (input.kind === "static") return input.keys.includes(inputKey);
  if (input.kind === "multi") {
    const values = splitMultiKey(input, inputKey);
    return values !== undefined && input.dimensions.every((d, i) => withinInputRange(d.scheme, values[i]!));
  }
  return true;
}

/** The two schemes a mapping connects: needed for multi schemes and time zones. */
export interface MappedSchemes {
  readonly input: PartitionScheme;
  readonly output: PartitionScheme;
}

/**
 * The input partitions that partition `key` reads, given the input's current
 * keys (ascending). Keys that do not exist are left out: an identity partition
 * whose input key does not exist reads nothing, and the planner treats such
 * partitions as not yet computable (see `inputPartitionsReady`).
 */
export function mappedInputKeys(mapping: PartitionMapping, key: string, schemes: MappedSchemes, inputKeys: readonly string[], inputKeySet?: ReadonlySet<string>): string[] {
  const selected = selection(mapping, key, schemes.input, schemes.output);
  if ("latest" in selected) return inputKeys.length === 0 ? [] : [inputKeys[inputKeys.length - 1]!];
  if ("where" in selected) return inputKeys.filter(selected.where);
  const has = inputKeySet ?? new Set(inputKeys);
  return selected.exact.filter((k) => has.has(k));
}

/**
 * Whether every input partition that `key` should read is complete, so the
 * partition can be computed now: a month waits for its last day, a 7-day
 * window for its newest day, a day of every region for that day in each region.
 * Keys outside the input's start/end are not waited for (the first partition
 * of an offset or previous reads nothing).
 */
export function inputPartitionsReady(mapping: PartitionMapping, key: string, schemes: MappedSchemes, inputKeySet: ReadonlySet<string>): boolean {
  const selected = selection(mapping, key, schemes.input, schemes.output);
  if ("latest" in selected) return inputKeySet.size > 0;
  if ("where" in selected) return true;
  const expected = selected.exact.filter((k) => withinInputRange(schemes.input, k));
  const kind = mapping.kind === "dimension" ? (mapping.of?.kind ?? "identity") : mapping.kind;
  if (kind !== "offset" && kind !== "previous" && expected.length === 0) return false;
  return expected.every((k) => inputKeySet.has(k));
}

export function describeMapping(mapping: PartitionMapping): string {
  switch (mapping.kind) {
    case "window":
      return `window ${describeDuration(mapping.length)}`;
    case "offset":
      return `offset ${describeDuration(mapping.by)}`;
    case "dimension":
      return `dimension ${mapping.dimension}${mapping.of && mapping.of.kind !== "identity" ? ` (${describeMapping(mapping.of)})` : ""}`;
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
