import { statSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { DAG_DEFAULTS, type BenchScale } from "../bench-scale.js";
import { generateProject } from "../generate-project.js";
import { runReflow } from "../run-measured.js";
import { scenarioResult, type ScenarioResult } from "../scenario-result.js";
import { syntheticDag } from "../synthetic-dag.js";
import { builtPartitions } from "./apply-overhead.js";

/**
 * Bytes of `.reflow/state.db` per partition version, after two real applies:
 * building everything, then rebuilding everything (an edit to the rows every
 * source reads). Also the marginal cost of the second set of versions.
 */
export function stateSize(scale: BenchScale["stateSize"]): ScenarioResult {
  const dag = syntheticDag({ ...DAG_DEFAULTS, datasets: scale.datasets, files: scale.files });
  const { project, asOf } = generateProject(dag, { partitions: scale.partitions, rowsPerPartition: 1 });
  const statePath = path.join(project.dir, ".reflow/state.db");
  const expected = scale.datasets * scale.partitions;
  const applyAll = () => {
    const built = builtPartitions(runReflow(["apply", "--yes", "--as-of", asOf], { cwd: project.dir }).stdout);
    if (built !== expected) throw new Error(`apply built ${built} partitions, expected ${expected}`);
    return { bytes: statSync(statePath).size, versions: succeededTasks(statePath) };
  };
  try {
    const first = applyAll();
    project.edit("pipelines/lib/rows.ts", "value: scale(i)", "value: scale(i) + 1");
    const second = applyAll();
    const perVersion = second.bytes / second.versions;
    return scenarioResult({
      scenario: "state-size",
      unit: "bytes/version",
      target: { comparison: "<=", value: 300 },
      median: perVersion,
      runs: [perVersion],
      details: {
        datasets: scale.datasets,
        partitions: scale.partitions,
        stateBytes: [first.bytes, second.bytes],
        versions: [first.versions, second.versions],
        marginalBytesPerVersion: (second.bytes - first.bytes) / (second.versions - first.versions),
      },
    });
  } finally {
    project.dispose();
  }
}

function succeededTasks(statePath: string): number {
  const db = new Database(statePath, { readonly: true });
  try {
    return (db.prepare("select count(*) as n from tasks where status = 'succeeded'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}
