import { splitMultiKey } from "./multi-partitions.js";
import { isPartitionKey } from "./partition-keys.js";
import type { PartitionScheme, SimplePartitions } from "./partition-scheme.js";

/**
 * Whether `bound` can be a `--from`/`--to` of a scheme: one of its keys, or
 * for a multi scheme also a value of its first dimension alone
 * (`--from 2024-01-03` is that day in every region).
 */
export function isPartitionRangeBound(scheme: PartitionScheme, bound: string): boolean {
  if (isPartitionKey(scheme, bound)) return true;
  return scheme.kind === "multi" && isPartitionKey(scheme.dimensions[0]!.scheme, bound);
}

/**
 * The keys between `from` and `to` (each inclusive, each optional). Time keys
 * compare in time order and static keys in declared order. A multi range is a
 * box: each dimension's value lies between the bounds' values, and a bound
 * that gives only the first dimension leaves the other unbounded.
 */
export function partitionRange(scheme: PartitionScheme, from: string | undefined, to: string | undefined): (key: string) => boolean {
  if (scheme.kind !== "multi") {
    const position = simplePosition(scheme);
    return (key) => (from === undefined || position(key) >= position(from)) && (to === undefined || position(key) <= position(to));
  }
  const bounds = (bound: string | undefined) => (bound === undefined ? [] : (splitMultiKey(scheme, bound) ?? [bound]));
  const [low, high] = [bounds(from), bounds(to)];
  const dimensions = scheme.dimensions.map((d, i) => partitionRange(d.scheme, low[i], high[i]));
  return (key) => {
    const values = splitMultiKey(scheme, key);
    return values !== undefined && dimensions.every((inRange, i) => inRange(values[i]!));
  };
}

/** Whether `from` comes after `to`, in any dimension. */
export function isEmptyPartitionRange(scheme: PartitionScheme, from: string, to: string): boolean {
  if (scheme.kind !== "multi") {
    const position = simplePosition(scheme);
    return position(from) > position(to);
  }
  const [low, high] = [splitMultiKey(scheme, from) ?? [from], splitMultiKey(scheme, to) ?? [to]];
  return scheme.dimensions.some((d, i) => low[i] !== undefined && high[i] !== undefined && isEmptyPartitionRange(d.scheme, low[i]!, high[i]!));
}

function simplePosition(scheme: Exclude<PartitionScheme, { kind: "multi" }> | SimplePartitions): (key: string) => string | number {
  return scheme.kind === "static" ? (key) => scheme.keys.indexOf(key) : (key) => key;
}
