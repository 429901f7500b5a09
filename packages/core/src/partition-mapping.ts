import { UNPARTITIONED_KEY, type PartitionScheme } from "./partition-scheme.js";

/**
 * Which partitions of an input one partition of a dataset reads. Plain data,
 * so plans can be stored and explained. Later grains add members (rollup,
 * window, offset, latest…); each must say both directions exactly.
 */
export type PartitionMapping =
  /** Partition K reads the input's partition K (same grain). */
  | { readonly kind: "identity" }
  /** Every partition reads every partition of the input. */
  | { readonly kind: "all" };

/** The mapping used when an input does not name one. */
export function defaultMapping(input: PartitionScheme, output: PartitionScheme): PartitionMapping | undefined {
  if (input.kind === "unpartitioned" || output.kind === "unpartitioned") return { kind: "all" };
  if (input.kind === output.kind) return { kind: "identity" };
  return undefined;
}

/**
 * The input partitions that partition `key` reads, given the input's current
 * keys (ascending). An identity partition whose input key does not exist
 * reads nothing; the planner treats such partitions as not yet computable.
 */
export function mappedInputKeys(mapping: PartitionMapping, key: string, inputKeys: readonly string[], inputKeySet?: ReadonlySet<string>): string[] {
  switch (mapping.kind) {
    case "identity":
      return (inputKeySet ?? new Set(inputKeys)).has(key) ? [key] : [];
    case "all":
      return [...inputKeys];
  }
}

export function describeMapping(mapping: PartitionMapping): string {
  return mapping.kind;
}

export { UNPARTITIONED_KEY };
