import { durationMs } from "./duration.js";
import { describeDuration } from "./partition-mapping.js";
import { UNPARTITIONED_KEY, type PartitionScheme } from "./partition-scheme.js";
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
}

export function partitionInfo(scheme: PartitionScheme, key: string): PartitionInfo {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly":
      return Object.freeze({ key, ...timeWindow(scheme.kind, key) });
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
      return durationMs(scheme.lag) === 0 ? `${scheme.kind} ${range}` : `${scheme.kind} ${range}, lag ${describeDuration(scheme.lag!)}`;
    }
    case "static":
      return `static ${scheme.keys.join(", ")}`;
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
    case "unpartitioned":
      return undefined;
  }
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
    case "unpartitioned":
      return key === UNPARTITIONED_KEY;
  }
}
