/** The middle value (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Calls `run` `count` times (each call sets up and measures one run) and collects what it returns. */
export function repeat<T>(count: number, run: (index: number) => T): T[] {
  return Array.from({ length: count }, (_, i) => run(i));
}
