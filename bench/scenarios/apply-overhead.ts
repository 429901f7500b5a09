import { rmSync } from "node:fs";
import path from "node:path";
import { DAG_DEFAULTS, type BenchScale } from "../bench-scale.js";
import { generateProject } from "../generate-project.js";
import { median, repeat } from "../measure-runs.js";
import { runReflow } from "../run-measured.js";
import { scenarioResult, type ScenarioResult } from "../scenario-result.js";
import { syntheticDag } from "../synthetic-dag.js";

/**
 * `reflow apply --yes` from an empty state (the whole process: compile, plan,
 * build, publish, record) over trivial one-row partitions, so what is
 * measured is reflow's own cost per task.
 */
export function applyOverhead(scale: BenchScale["applyOverhead"]): ScenarioResult {
  const dag = syntheticDag({ ...DAG_DEFAULTS, datasets: scale.datasets, files: scale.files });
  const generated = generateProject(dag, { partitions: scale.partitions, rowsPerPartition: 1 });
  const cwd = generated.project.dir;
  const expected = scale.datasets * scale.partitions;
  try {
    const measured = repeat(scale.runs, () => {
      rmSync(path.join(cwd, ".reflow"), { recursive: true, force: true });
      const run = runReflow(["apply", "--yes", "--as-of", generated.asOf], { cwd });
      const built = builtPartitions(run.stdout);
      if (built !== expected) throw new Error(`apply built ${built} partitions, expected ${expected}`);
      return run;
    });
    const rates = measured.map((r) => expected / r.seconds);
    return scenarioResult({
      scenario: "apply-overhead",
      unit: "tasks/s",
      target: { comparison: ">=", value: 5_000 },
      median: median(rates),
      runs: rates,
      details: {
        datasets: scale.datasets,
        partitions: scale.partitions,
        tasks: expected,
        seconds: measured.map((r) => r.seconds),
        cpuSeconds: measured.map((r) => r.cpuSeconds),
        peakRssBytes: measured.map((r) => r.peakRssBytes),
      },
    });
  } finally {
    generated.project.dispose();
  }
}

/** The N of `Apply complete: N partitions built`. */
export function builtPartitions(stdout: string): number {
  const match = /Apply complete: ([\d,]+) partitions? built/.exec(stdout);
  if (!match) throw new Error(`apply did not complete:\n${stdout.slice(-2000)}`);
  return Number(match[1]!.replace(/,/g, ""));
}
