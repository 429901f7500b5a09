import { durationMs } from "./duration.js";
import { describeDuration } from "./partition-mapping.js";
import { crossKeys, joinMultiKey, splitMultiKey } from "./multi-partitions.js";
import { isTimePartitions, UNPARTITIONED_KEY, type PartitionDimension, type PartitionScheme } from "./partition-scheme.js";
import { grainKeyAt, grainKeyStart, nextGrainStart } from "./time-grain.js";
import { timePartitionKeys, timeWindow } from "./time-partitions.js";

/**
 * Every partition key a scheme defines as of an instant, in ascending order:
 * the complete ones, or with `includeIncomplete` also those not complete yet (started, or within `lag`).
 */
export function partitionKeys(scheme: PartitionScheme, asOf: Date, includeIncomplete = false): string[] {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly":
      return timePartitionKeys(scheme, asOf, includeIncomplete);
    case "static":
      return [...scheme.keys];
    case "multi":
      return crossKeys(scheme.dimensions.map((d) => partitionKeys(d.scheme, asOf, includeIncomplete)));
    case "unpartitioned":
      return [UNPARTITIONED_KEY];
  }
}

/** What a transform is told about the partition it computes. */
export interface PartitionInfo {
  readonly key: string;
  /** Start of the partition's time window (inclusive, UTC); absent for unpartitioned data. */
  readonly start?: Date;
  /** End of the partition's time window (exclusive, UTC). */
  readonly end?: Date;
  /** Multi partitions: the key's value in each dimension (`{ date: "2024-01-03", region: "eu" }`). */
  readonly dimensions?: Readonly<Record<string, string>>;
}

export function partitionInfo(scheme: PartitionScheme, key: string): PartitionInfo {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly":
      return Object.freeze({ key, ...timeWindow(scheme.kind, key, scheme.timezone) });
    case "multi": {
      const values = splitMultiKey(scheme, key) ?? [];
      const time = scheme.dimensions.findIndex((d) => isTimePartitions(d.scheme));
      const window = time < 0 ? {} : partitionInfo(scheme.dimensions[time]!.scheme, values[time]!);
      const dimensions = Object.freeze(Object.fromEntries(scheme.dimensions.map((d, i) => [d.name, values[i]!])));
      return Object.freeze({ ...window, key, dimensions });
    }
    case "static":
    case "unpartitioned":
      return Object.freeze({ key });
  }
}

export function describeScheme(scheme: PartitionScheme): string {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly": {
      const range = scheme.end === undefined ? `from ${scheme.start}` : `${scheme.start} … ${scheme.end}`;
      const zone = scheme.timezone === undefined ? "" : ` ${scheme.timezone}`;
      return durationMs(scheme.lag) === 0 ? `${scheme.kind}${zone} ${range}` : `${scheme.kind}${zone} ${range}, lag ${describeDuration(scheme.lag!)}`;
    }
    case "static":
      return `static ${scheme.keys.join(", ")}`;
    case "multi":
      return `multi ${scheme.dimensions.map((d) => `${d.name}: ${describeScheme(d.scheme)}`).join(" × ")}`;
    case "unpartitioned":
      return "unpartitioned";
  }
}

/** The key right after `key` in a scheme's order, for collapsing runs of keys into ranges. */
export function nextPartitionKey(scheme: PartitionScheme, key: string): string | undefined {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly": {
      const start = grainKeyStart(scheme.kind, key);
      return start === undefined ? undefined : grainKeyAt(scheme.kind, nextGrainStart(scheme.kind, start));
    }
    case "static": {
      const index = scheme.keys.indexOf(key);
      return index < 0 ? undefined : scheme.keys[index + 1];
    }
    case "multi": {
      // The last dimension varies fastest: (d, r) → (d, next r), or (next d, first r).
      const values = splitMultiKey(scheme, key);
      if (!values || !isPartitionKey(scheme, key)) return undefined;
      const [outer, inner] = scheme.dimensions as [PartitionDimension, PartitionDimension];
      const nextInner = nextPartitionKey(inner.scheme, values[1]!);
      if (nextInner !== undefined) return joinMultiKey([values[0]!, nextInner]);
      const nextOuter = nextPartitionKey(outer.scheme, values[0]!);
      return nextOuter === undefined ? undefined : joinMultiKey([nextOuter, firstKey(inner.scheme)]);
    }
    case "unpartitioned":
      return undefined;
  }
}

function firstKey(scheme: PartitionDimension["scheme"]): string {
  return scheme.kind === "static" ? scheme.keys[0]! : scheme.start;
}

/** Whether `key` is well-formed for a scheme (not whether the scheme has it as of some instant). */
export function isPartitionKey(scheme: PartitionScheme, key: string): boolean {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly":
      return grainKeyStart(scheme.kind, key) !== undefined;
    case "static":
      return scheme.keys.includes(key);
    case "multi": {
      const values = splitMultiKey(scheme, key);
      return values !== undefined && scheme.dimensions.every((d, i) => isPartitionKey(d.scheme, values[i]!));
    }
    case "unpartitioned":
      return key === UNPARTITIONED_KEY;
  }
}
