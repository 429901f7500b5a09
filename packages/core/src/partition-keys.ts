import { dailyKeys, dayWindow, formatDayKey, parseDayKey } from "./daily.js";
import { UNPARTITIONED_KEY, type PartitionScheme } from "./partition-scheme.js";

/** Every partition key a scheme defines as of an instant, in ascending order. */
export function partitionKeys(scheme: PartitionScheme, asOf: Date): string[] {
  switch (scheme.kind) {
    case "daily":
      return dailyKeys(scheme, asOf);
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
    case "daily":
      return Object.freeze({ key, ...dayWindow(key) });
    case "unpartitioned":
      return Object.freeze({ key });
  }
}

export function describeScheme(scheme: PartitionScheme): string {
  switch (scheme.kind) {
    case "daily":
      return scheme.end === undefined ? `daily from ${scheme.start}` : `daily ${scheme.start} … ${scheme.end}`;
    case "unpartitioned":
      return "unpartitioned";
  }
}

/** The key right after `key` in a scheme's order, for collapsing runs of keys into ranges. */
export function nextPartitionKey(scheme: PartitionScheme, key: string): string | undefined {
  switch (scheme.kind) {
    case "daily": {
      const ms = parseDayKey(key);
      return ms === undefined ? undefined : formatDayKey(ms + 86_400_000);
    }
    case "unpartitioned":
      return undefined;
  }
}

/** Whether `key` is well-formed for a scheme (not whether the scheme has it as of some instant). */
export function isPartitionKey(scheme: PartitionScheme, key: string): boolean {
  switch (scheme.kind) {
    case "daily":
      return parseDayKey(key) !== undefined;
    case "unpartitioned":
      return key === UNPARTITIONED_KEY;
  }
}
