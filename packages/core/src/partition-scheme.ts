import type { Duration } from "./duration.js";
import type { TimeGrain } from "./time-grain.js";

/**
 * How a dataset is split into partitions. Plain frozen data so that it can be
 * fingerprinted, stored and compared. Code that switches on `kind` is written
 * to fail loudly on a kind it does not know.
 */
export interface TimePartitions<G extends TimeGrain = TimeGrain> {
  readonly kind: G;
  /** First partition, a key of the grain (`2024-01-01`, `2024-W01`, `2024-01`…, UTC). */
  readonly start: string;
  /** Last partition, inclusive. Without it, partitions run to the last complete one before as-of. */
  readonly end?: string;
  /** A partition is complete only this long after its window closes (late data); absent means at once. */
  readonly lag?: Duration;
  /** IANA time zone the windows follow (`America/New_York`); absent means UTC. Keys stay local dates. */
  readonly timezone?: string;
}

export type HourlyPartitions = TimePartitions<"hourly">;
export type DailyPartitions = TimePartitions<"daily">;
export type WeeklyPartitions = TimePartitions<"weekly">;
export type MonthlyPartitions = TimePartitions<"monthly">;
export type YearlyPartitions = TimePartitions<"yearly">;

/** A fixed list of named partitions (`eu`, `us`), in declared order; no time window. */
export interface StaticPartitions {
  readonly kind: "static";
  readonly keys: readonly string[];
}

/** One dimension of a multi scheme: a time grain or a static list, under a name (`date`, `region`). */
export interface PartitionDimension {
  readonly name: string;
  readonly scheme: TimePartitions | StaticPartitions;
}

/**
 * Two dimensions crossed: `multi({ date: daily(…), region: staticPartitions(…) })`,
 * keys `2024-01-03|eu`, ordered by the first dimension, then the second.
 */
export interface MultiPartitions {
  readonly kind: "multi";
  readonly dimensions: readonly PartitionDimension[];
}

export interface Unpartitioned {
  readonly kind: "unpartitioned";
}

export type PartitionScheme =
  | HourlyPartitions
  | DailyPartitions
  | WeeklyPartitions
  | MonthlyPartitions
  | YearlyPartitions
  | StaticPartitions
  | MultiPartitions
  | Unpartitioned;

/** A scheme of one dimension: what a multi scheme is made of. */
export type SimplePartitions = TimePartitions | StaticPartitions;

/** The single partition key of an unpartitioned dataset. */
export const UNPARTITIONED_KEY = "*";

export interface TimePartitionOptions {
  readonly start: string;
  readonly end?: string;
  readonly lag?: Duration;
  /** IANA time zone name; default UTC. */
  readonly timezone?: string;
}

export type DailyOptions = TimePartitionOptions;

export function isTimePartitions(scheme: PartitionScheme): scheme is TimePartitions {
  return scheme.kind !== "unpartitioned" && scheme.kind !== "static" && scheme.kind !== "multi";
}
