/**
 * How a dataset is split into partitions. Plain frozen data so that it can be
 * fingerprinted, stored and compared. New grains (hourly, weekly, static…)
 * are added as further members of the union; code that switches on `kind`
 * is written to fail loudly on a kind it does not know.
 */
export interface DailyPartitions {
  readonly kind: "daily";
  /** First partition, `YYYY-MM-DD` (UTC). */
  readonly start: string;
  /** Last partition, inclusive. Without it, partitions run to the last complete day before as-of. */
  readonly end?: string;
}

export interface Unpartitioned {
  readonly kind: "unpartitioned";
}

export type PartitionScheme = DailyPartitions | Unpartitioned;

/** The single partition key of an unpartitioned dataset. */
export const UNPARTITIONED_KEY = "*";

export interface DailyOptions {
  readonly start: string;
  readonly end?: string;
}
