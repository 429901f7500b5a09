import type { WeeklyPartitions, TimePartitionOptions } from "./partition-scheme.js";
import { timePartitions } from "./time-partitions.js";

/** Weekly partitions in UTC, keyed ISO `YYYY-Www`: weeks start Monday, week 1 holds January 4. */
export function weekly(options: TimePartitionOptions): WeeklyPartitions {
  return timePartitions("weekly", options);
}
