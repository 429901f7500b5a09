import path from "node:path";
import Database from "better-sqlite3";
import type { BenchScale } from "../bench-scale.js";
import { median, repeat } from "../measure-runs.js";
import { REPO_ROOT, runNode, runReflow } from "../run-measured.js";
import { scenarioResult, type ScenarioResult } from "../scenario-result.js";
import { builtPartitions } from "./apply-overhead.js";
import { rowsProject } from "./rows-project.js";

/**
 * Rebuilding `enriched` (every partition of `events`, row by row) with
 * `reflow apply`, the whole process, against bench/baseline-transform.ts doing
 * the same work by hand. Runs alternate, so both see the same machine state.
 */
export function transformThroughput(scale: BenchScale["transformThroughput"]): ScenarioResult {
  const { project, asOf, writeEnriched } = rowsProject({ partitions: scale.partitions, rows: scale.rows });
  const cwd = project.dir;
  const warehouse = path.join(cwd, ".reflow/warehouse.db");
  const rows = scale.partitions * scale.rows;
  try {
    writeEnriched(0);
    runReflow(["apply", "--yes", "--as-of", asOf], { cwd }); // builds events and a first enriched (not measured)
    const pairs = repeat(scale.runs, (i) => {
      writeEnriched(i + 1);
      const reflow = runReflow(["apply", "--yes", "--as-of", asOf], { cwd });
      if (builtPartitions(reflow.stdout) !== scale.partitions) throw new Error(`expected ${scale.partitions} partitions rebuilt:\n${reflow.stdout}`);
      const baseline = runNode([path.join(REPO_ROOT, "bench/baseline-transform.ts"), warehouse], { cwd: REPO_ROOT, nodeFlags: ["--import", "tsx"] });
      if (Number(baseline.stdout) !== rows) throw new Error(`the baseline wrote ${baseline.stdout.trim()} rows, expected ${rows}`);
      dropBaselineTable(warehouse);
      return { reflow: reflow.seconds, baseline: baseline.seconds, reflowCpu: reflow.cpuSeconds, baselineCpu: baseline.cpuSeconds };
    });
    const ratios = pairs.map((p) => p.baseline / p.reflow);
    return scenarioResult({
      scenario: "transform-throughput",
      unit: "× baseline speed",
      target: { comparison: ">=", value: 0.7 },
      median: median(ratios),
      runs: ratios,
      details: {
        partitions: scale.partitions,
        rowsPerPartition: scale.rows,
        reflowSeconds: pairs.map((p) => p.reflow),
        baselineSeconds: pairs.map((p) => p.baseline),
        reflowCpuSeconds: pairs.map((p) => p.reflowCpu),
        baselineCpuSeconds: pairs.map((p) => p.baselineCpu),
        reflowRowsPerSecond: rows / median(pairs.map((p) => p.reflow)),
        baselineRowsPerSecond: rows / median(pairs.map((p) => p.baseline)),
      },
    });
  } finally {
    project.dispose();
  }
}

function dropBaselineTable(file: string): void {
  const db = new Database(file);
  try {
    db.exec("drop table if exists baseline__rows");
  } finally {
    db.close();
  }
}
