import path from "node:path";
import Database from "better-sqlite3";
import { FIRST_DAY } from "../generate-project.js";
import type { BenchScale } from "../bench-scale.js";
import { median, repeat } from "../measure-runs.js";
import { REPO_ROOT, runNode, runReflow } from "../run-measured.js";
import { scenarioResult, type ScenarioResult } from "../scenario-result.js";
import { builtPartitions } from "./apply-overhead.js";
import { rowsProject } from "./rows-project.js";

/**
 * Rebuilding `spend` (a SQL transform: per user and day, the sum over every
 * row of `events`) with `reflow apply`, the whole process, against
 * bench/baseline-sql-transform.ts running the same `INSERT … SELECT` per
 * partition by hand on the same database. The figure is the overhead of
 * reflow's execution (its run, from start to finish as the state records it:
 * statements, result checks, content hash, bookkeeping) over the statements'
 * time alone. Process start, loading and planning are fixed costs the
 * apply-overhead and plan scenarios measure; the whole-process times are in
 * the details.
 */
export function sqlTransform(scale: BenchScale["sqlTransform"]): ScenarioResult {
  const { project, asOf } = rowsProject({ partitions: scale.partitions, rows: scale.rows });
  const cwd = project.dir;
  const warehouse = path.join(cwd, ".reflow/warehouse.db");
  try {
    project.write("pipelines/spend.ts", spendDataset(0));
    runReflow(["apply", "--yes", "--as-of", asOf], { cwd }); // builds events and a first spend (not measured)
    const pairs = repeat(scale.runs, (i) => {
      project.write("pipelines/spend.ts", spendDataset(i + 1));
      const reflow = runReflow(["apply", "--yes", "--as-of", asOf], { cwd });
      if (builtPartitions(reflow.stdout) !== scale.partitions) throw new Error(`expected ${scale.partitions} partitions rebuilt:\n${reflow.stdout}`);
      const baseline = runNode([path.join(REPO_ROOT, "bench/baseline-sql-transform.ts"), warehouse], { cwd: REPO_ROOT, nodeFlags: ["--import", "tsx"] });
      const [written, statementSeconds] = baseline.stdout.trim().split(" ").map(Number);
      const expected = queryValue(cwd, ".reflow/warehouse.db", "select count(*) from spend");
      if (written !== expected) throw new Error(`the baseline wrote ${baseline.stdout.trim()} rows, reflow ${expected}`);
      const runSeconds = queryValue(cwd, ".reflow/state.db", "select (julianday(finished_at) - julianday(started_at)) * 86400 from runs order by id desc limit 1");
      return {
        run: runSeconds,
        statements: statementSeconds!,
        reflow: reflow.seconds,
        baseline: baseline.seconds,
        reflowCpu: reflow.cpuSeconds,
        baselineCpu: baseline.cpuSeconds,
      };
    });
    return sqlOverheadResult("sql-transform", scale, pairs, {
      wholeProcessOverhead: pairs.map((p) => p.reflow / p.baseline - 1),
      reflowCpuSeconds: pairs.map((p) => p.reflowCpu),
      baselineCpuSeconds: pairs.map((p) => p.baselineCpu),
      inputRowsPerSecond: (scale.partitions * scale.rows) / median(pairs.map((p) => p.reflow)),
    });
  } finally {
    project.dispose();
  }
}

/** One rebuild of `spend`: reflow's run and the baseline's statements (the figure), and both whole processes. */
export interface SqlRunPair {
  readonly run: number;
  readonly statements: number;
  readonly reflow: number;
  readonly baseline: number;
}

/** A SQL scenario's result: the overhead of reflow's run over the statements by hand, per pair. */
export function sqlOverheadResult(scenario: string, scale: BenchScale["sqlTransform"], pairs: readonly SqlRunPair[], details: Record<string, unknown>): ScenarioResult {
  const overheads = pairs.map((p) => p.run / p.statements - 1);
  return scenarioResult({
    scenario,
    unit: "overhead (fraction)",
    target: { comparison: "<=", value: 0.1 },
    median: median(overheads),
    runs: overheads,
    details: {
      partitions: scale.partitions,
      inputRowsPerPartition: scale.rows,
      runSeconds: pairs.map((p) => p.run),
      statementSeconds: pairs.map((p) => p.statements),
      reflowSeconds: pairs.map((p) => p.reflow),
      baselineSeconds: pairs.map((p) => p.baseline),
      ...details,
    },
  });
}

/** The SQL transform timed; a new `version` rebuilds every partition with the same SQL. */
export function spendDataset(version: number): string {
  return `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";

export const spend = dataset("spend", {
  partitions: daily({ start: "${FIRST_DAY}" }),
  inputs: { events },
  schema: z.object({ day: z.string(), user: z.string(), amount: z.number().int() }),
  version: ${version},
  sql: ({ db, inputs, partition }) =>
    db.selectFrom(inputs.events).select((eb) => [eb.val(partition.key).as("day"), "user", eb.fn.sum<number>("amount").as("amount")]).groupBy("user"),
});
`;
}

function queryValue(dir: string, file: string, query: string): number {
  const db = new Database(path.join(dir, file), { readonly: true });
  try {
    return db.prepare(query).pluck().get() as number;
  } finally {
    db.close();
  }
}
