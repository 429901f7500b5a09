import type { KeyRange } from "./plan.js";

/** The partitions of one fingerprint: how many, and their runs of consecutive keys. */
export interface FingerprintRanges {
  readonly partitions: number;
  readonly ranges: readonly KeyRange[];
}

/**
 * Groups a dataset's keys (in its order) by the fingerprint of each (undefined:
 * none, which breaks a run), in the order each fingerprint first appears.
 */
export function fingerprintRanges(keys: readonly string[], fingerprintOf: (key: string) => string | undefined): Map<string, FingerprintRanges> {
  const byFingerprint = new Map<string, { partitions: number; ranges: { first: string; last: string; count: number }[] }>();
  let previous: string | undefined;
  for (const key of keys) {
    const fingerprint = fingerprintOf(key);
    if (fingerprint === undefined) {
      previous = undefined;
      continue;
    }
    let entry = byFingerprint.get(fingerprint);
    if (!entry) byFingerprint.set(fingerprint, (entry = { partitions: 0, ranges: [] }));
    entry.partitions += 1;
    const last = entry.ranges[entry.ranges.length - 1];
    if (previous === fingerprint && last) {
      last.last = key;
      last.count += 1;
    } else entry.ranges.push({ first: key, last: key, count: 1 });
    previous = fingerprint;
  }
  return byFingerprint;
}
