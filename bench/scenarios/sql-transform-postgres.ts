import path from "node:path";
import type { BenchScale } from "../bench-scale.js";
import { REPO_ROOT, runNode, runReflow } from "../run-measured.js";
import type { ScenarioResult } from "../scenario-result.js";
import { createTestDatabase, postgresUnavailable, queryDatabase } from "../../test/support/postgres-server.js";
import { builtPartitions } from "./apply-overhead.js";
import { rowsProject } from "./rows-project.js";
import { spendDataset, sqlOverheadResult, type SqlRunPair } from "./sql-transform.js";

const STATE_SCHEMA = "reflow_state";
const WAREHOUSE_SCHEMA = "marts";

/**
 * `sql-transform` on PostgreSQL: the same project with state and warehouse in
 * a fresh database of the local server, `spend` rebuilt with `reflow apply`
 * against bench/baseline-postgres-sql-transform.ts running the same
 * `INSERT … SELECT` per partition by hand. The figure is reflow's run (start
 * to finish as the state records it, one partition at a time) over the
 * statements' own time, minus 1.
 * Without a server it is skipped, saying why.
 */
export async function sqlTransformPostgres(scale: BenchScale["sqlTransform"]): Promise<ScenarioResult> {
  const unavailable = await postgresUnavailable();
  if (unavailable) return { ...skippedResult(), skipped: unavailable };
  const database = await createTestDatabase();
  const { project, asOf } = rowsProject({ partitions: scale.partitions, rows: scale.rows });
  const cwd = project.dir;
  try {
    project.write(
      "reflow.yaml",
      `state: { type: postgres, url: "${database.url}", schema: ${STATE_SCHEMA} }\nwarehouse: { type: postgres, url: "${database.url}", schema: ${WAREHOUSE_SCHEMA} }\n`,
    );
    project.write("pipelines/spend.ts", spendDataset(0));
    runReflow(["apply", "--yes", "--as-of", asOf], { cwd }); // builds events and a first spend (not measured)
    const pairs: SqlRunPair[] = [];
    for (let i = 0; i < scale.runs; i++) {
      project.write("pipelines/spend.ts", spendDataset(i + 1));
      // One statement at a time, as the baseline runs them: PostgreSQL would otherwise run
      // several partitions' statements at once on other cores, which the baseline does not.
      const reflow = runReflow(["apply", "--yes", "--concurrency", "1", "--as-of", asOf], { cwd });
      if (builtPartitions(reflow.stdout) !== scale.partitions) throw new Error(`expected ${scale.partitions} partitions rebuilt:\n${reflow.stdout}`);
      const baseline = runNode([path.join(REPO_ROOT, "bench/baseline-postgres-sql-transform.ts"), database.url, WAREHOUSE_SCHEMA], { cwd: REPO_ROOT, nodeFlags: ["--import", "tsx"] });
      const [written, statementSeconds] = baseline.stdout.trim().split(" ").map(Number);
      const [{ n: expected }] = (await queryDatabase<{ n: number }>(database.url, `select count(*) as n from ${WAREHOUSE_SCHEMA}.spend`)) as [{ n: number }];
      if (written !== expected) throw new Error(`the baseline wrote ${baseline.stdout.trim()} rows, reflow ${expected}`);
      const [run] = (await queryDatabase<{ started_at: string; finished_at: string }>(
        database.url,
        `select started_at, finished_at from ${STATE_SCHEMA}.runs order by id desc limit 1`,
      )) as [{ started_at: string; finished_at: string }];
      pairs.push({
        run: (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000,
        statements: statementSeconds!,
        reflow: reflow.seconds,
        baseline: baseline.seconds,
      });
    }
    return sqlOverheadResult("sql-transform-postgres", scale, pairs, {
      server: (await queryDatabase<{ v: string }>(database.url, "select version() as v"))[0]!.v,
    });
  } finally {
    project.dispose();
    await database.drop();
  }
}

function skippedResult(): ScenarioResult {
  return { scenario: "sql-transform-postgres", unit: "overhead (fraction)", target: { comparison: "<=", value: 0.1 }, median: Number.NaN, runs: [], met: false, details: {} };
}
