import type { DailyOptions, DailyPartitions } from "./partition-scheme.js";
import { grainKeyAt, grainKeyStart } from "./time-grain.js";
import { timePartitionKeys, timePartitions, timeWindow } from "./time-partitions.js";

/** Parses a `YYYY-MM-DD` key to its UTC midnight, or undefined when it is not a real date. */
export function parseDayKey(key: string): number | undefined {
  return grainKeyStart("daily", key);
}

export function formatDayKey(ms: number): string {
  return grainKeyAt("daily", ms);
}

/** Daily partitions, keyed `YYYY-MM-DD` in UTC. */
export function daily(options: DailyOptions): DailyPartitions {
  return timePartitions("daily", options);
}

/**
 * The keys of a daily scheme as of an instant: from start to end, or to the
 * last day that is complete (its midnight-to-midnight window has closed, plus any lag) at `asOf`.
 */
export function dailyKeys(scheme: DailyPartitions, asOf: Date): string[] {
  return timePartitionKeys(scheme, asOf);
}

/** The half-open UTC window [start, end) a daily key covers. */
export function dayWindow(key: string): { start: Date; end: Date } {
  return timeWindow("daily", key);
}
