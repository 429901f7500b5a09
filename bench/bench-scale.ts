/** How big each scenario runs, and how many times; `--quick` shrinks everything for a smoke test. */
export interface BenchScale {
  readonly name: "full" | "quick";
  readonly plan: { readonly datasets: number; readonly files: number; readonly partitions: number; readonly runs: number };
  readonly applyOverhead: { readonly datasets: number; readonly files: number; readonly partitions: number; readonly runs: number };
  readonly transformThroughput: { readonly partitions: number; readonly rows: number; readonly runs: number };
  readonly bigPartition: { readonly rows: number; readonly runs: number };
  /** A SQL transform over `partitions` × `rows` input rows (issue #7: 10,000,000). */
  readonly sqlTransform: { readonly partitions: number; readonly rows: number; readonly runs: number };
  readonly stateSize: { readonly datasets: number; readonly files: number; readonly partitions: number };
}

/** The sizes issue #6 names. */
export const FULL_SCALE: BenchScale = {
  name: "full",
  plan: { datasets: 1_000, files: 200, partitions: 365, runs: 5 },
  applyOverhead: { datasets: 100, files: 20, partitions: 1_000, runs: 3 },
  transformThroughput: { partitions: 10, rows: 1_000_000, runs: 3 },
  bigPartition: { rows: 10_000_000, runs: 1 },
  sqlTransform: { partitions: 10, rows: 1_000_000, runs: 3 },
  stateSize: { datasets: 50, files: 10, partitions: 200 },
};

export const QUICK_SCALE: BenchScale = {
  name: "quick",
  plan: { datasets: 60, files: 12, partitions: 30, runs: 1 },
  applyOverhead: { datasets: 20, files: 4, partitions: 10, runs: 1 },
  transformThroughput: { partitions: 2, rows: 5_000, runs: 1 },
  bigPartition: { rows: 20_000, runs: 1 },
  sqlTransform: { partitions: 2, rows: 5_000, runs: 1 },
  stateSize: { datasets: 10, files: 2, partitions: 10 },
};

/** Common to every synthetic DAG: depth ~10, helpers each called by 5% of datasets. */
export const DAG_DEFAULTS = { depth: 10, helpers: 10, helperShare: 0.05, seed: "reflow-bench" } as const;
