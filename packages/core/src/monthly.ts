import type { MonthlyPartitions, TimePartitionOptions } from "./partition-scheme.js";
import { timePartitions } from "./time-partitions.js";

/** Monthly partitions in UTC, keyed `YYYY-MM`. */
export function monthly(options: TimePartitionOptions): MonthlyPartitions {
  return timePartitions("monthly", options);
}
