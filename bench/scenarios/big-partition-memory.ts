import type { BenchScale } from "../bench-scale.js";
import { median, repeat } from "../measure-runs.js";
import { runReflow } from "../run-measured.js";
import { scenarioResult, type ScenarioResult } from "../scenario-result.js";
import { builtPartitions } from "./apply-overhead.js";
import { rowsProject } from "./rows-project.js";

const MB = 1_000_000;

/**
 * Peak RSS of `reflow apply` building one partition of `rows` rows of a
 * streaming source and of a streaming transform reading it.
 */
export function bigPartitionMemory(scale: BenchScale["bigPartition"]): ScenarioResult {
  const { project, asOf, writeEnriched } = rowsProject({ partitions: 1, rows: scale.rows });
  writeEnriched(0);
  try {
    const runs = repeat(scale.runs, () => {
      project.remove(".reflow/state.db");
      project.remove(".reflow/warehouse.db");
      const run = runReflow(["apply", "--yes", "--as-of", asOf], { cwd: project.dir });
      if (builtPartitions(run.stdout) !== 2) throw new Error(`expected 2 partitions built:\n${run.stdout}`);
      return run;
    });
    const peaks = runs.map((r) => r.peakRssBytes / MB);
    return scenarioResult({
      scenario: "big-partition-memory",
      unit: "MB peak RSS",
      target: { comparison: "<=", value: 400 },
      median: median(peaks),
      runs: peaks,
      details: { rows: scale.rows, rowsWritten: 2 * scale.rows, seconds: runs.map((r) => r.seconds), cpuSeconds: runs.map((r) => r.cpuSeconds) },
    });
  } finally {
    project.dispose();
  }
}
