import type { YearlyPartitions, TimePartitionOptions } from "./partition-scheme.js";
import { timePartitions } from "./time-partitions.js";

/** Yearly partitions in UTC, keyed `YYYY`. */
export function yearly(options: TimePartitionOptions): YearlyPartitions {
  return timePartitions("yearly", options);
}
