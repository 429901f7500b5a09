import type { HourlyPartitions, TimePartitionOptions } from "./partition-scheme.js";
import { timePartitions } from "./time-partitions.js";

/** Hourly partitions in UTC, keyed `YYYY-MM-DDTHH` (`2024-01-17T05` is 05:00–06:00 UTC). */
export function hourly(options: TimePartitionOptions): HourlyPartitions {
  return timePartitions("hourly", options);
}
