// `npm run bench [-- --quick] [-- --only plan-warm,state-size] [-- --out FILE]`:
// runs the scenarios of issue #6, prints each median against its target and
// writes every result (runs, sizes, machine) to bench/results.json.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { FULL_SCALE, QUICK_SCALE, type BenchScale } from "./bench-scale.js";
import { machineInfo } from "./machine-info.js";
import { machineSpeed, type MachineSpeed } from "./machine-speed.js";
import { REPO_ROOT } from "./run-measured.js";
import type { ScenarioResult } from "./scenario-result.js";
import { applyOverhead } from "./scenarios/apply-overhead.js";
import { bigPartitionMemory } from "./scenarios/big-partition-memory.js";
import { planAfterEdit } from "./scenarios/plan-after-edit.js";
import { planFixture, type PlanFixture } from "./scenarios/plan-fixture.js";
import { sqlTransform } from "./scenarios/sql-transform.js";
import { sqlTransformPostgres } from "./scenarios/sql-transform-postgres.js";
import { stateSize } from "./scenarios/state-size.js";
import { transformThroughput } from "./scenarios/transform-throughput.js";

interface Context {
  readonly scale: BenchScale;
  /** The plan scenarios share one generated, built project. */
  planFixture(): Promise<PlanFixture>;
}

const SCENARIOS: Readonly<Record<string, (context: Context) => Promise<ScenarioResult> | ScenarioResult>> = {
  "plan-warm": async (c) => planAfterEdit(await c.planFixture(), c.scale.plan.runs, "warm"),
  "plan-cold": async (c) => planAfterEdit(await c.planFixture(), c.scale.plan.runs, "cold"),
  "apply-overhead": (c) => applyOverhead(c.scale.applyOverhead),
  "transform-throughput": (c) => transformThroughput(c.scale.transformThroughput),
  "big-partition-memory": (c) => bigPartitionMemory(c.scale.bigPartition),
  "sql-transform": (c) => sqlTransform(c.scale.sqlTransform),
  "sql-transform-postgres": (c) => sqlTransformPostgres(c.scale.sqlTransform),
  "state-size": (c) => stateSize(c.scale.stateSize),
};

export interface BenchResults {
  readonly scale: BenchScale;
  readonly machine: ReturnType<typeof machineInfo>;
  /**
   * `loadAverage`: the 1-minute load when the scenario started and ended; other work on the machine skews wall times.
   * `machineSpeed`: the machine's speed just before (`machineSpeed()`), which varies from day to day on a shared VM
   * (not probed by --quick, which measures nothing).
   */
  readonly scenarios: Record<string, ScenarioResult & { readonly measuredAt: string; readonly loadAverage: readonly number[]; readonly machineSpeed?: MachineSpeed }>;
}

const options = new Command("bench")
  .option("--quick", "every scenario at a small scale (a smoke test, not a measurement)")
  .option("--only <names>", `comma-separated scenarios (${Object.keys(SCENARIOS).join(", ")})`)
  .option("--runs <n>", "runs per scenario, overriding the scale's (for long full-scale runs)", (v) => Number(v))
  .option("--out <file>", "results file; scenarios not run keep their previous results if the scale matches", path.join(REPO_ROOT, "bench/results.json"))
  .parse()
  .opts<{ quick?: boolean; only?: string; out: string; runs?: number }>();

const scale = withRuns(options.quick ? QUICK_SCALE : FULL_SCALE, options.runs);
const only = options.only?.split(",").map((s) => s.trim());
for (const name of only ?? []) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(", ")}`);
// Always in the order above: plan-warm relies on the caches the fixture's first plan left.
const names = Object.keys(SCENARIOS).filter((name) => !only || only.includes(name));

const previous = existsSync(options.out) ? (JSON.parse(readFileSync(options.out, "utf8")) as BenchResults) : undefined;
const results: BenchResults = {
  scale,
  machine: machineInfo(),
  scenarios: previous?.scale.name === scale.name ? { ...previous.scenarios } : {},
};
let fixture: Promise<PlanFixture> | undefined;
const context: Context = { scale, planFixture: () => (fixture ??= planFixture(scale.plan)) };

console.log(`reflow benchmarks, ${scale.name} scale, on ${results.machine.cores} × ${results.machine.cpu}, node ${results.machine.node}`);
try {
  for (const name of names) {
    const speed = options.quick ? undefined : machineSpeed();
    const started = performance.now();
    const loadBefore = os.loadavg()[0]!;
    const result = await SCENARIOS[name]!(context);
    if (result.skipped) {
      console.log(`${name.padEnd(22)} skipped: ${result.skipped}`);
      continue;
    }
    results.scenarios[name] = { ...result, measuredAt: new Date().toISOString(), loadAverage: [loadBefore, os.loadavg()[0]!], ...(speed ? { machineSpeed: speed } : {}) };
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    const verdict = result.met ? "met" : "MISSED";
    console.log(
      `${name.padEnd(22)} ${formatNumber(result.median).padStart(10)} ${result.unit.padEnd(18)} target ${result.target.comparison} ${formatNumber(result.target.value)}  ${verdict}  (${result.runs.length} run${result.runs.length === 1 ? "" : "s"}, ${((performance.now() - started) / 1000).toFixed(1)}s${speed ? `; machine: loop ${speed.loopMs} ms, allocation ${formatNumber(speed.allocationMs)} ms` : ""})`,
    );
  }
} finally {
  (await fixture)?.project.dispose();
}
console.log(`Results written to ${path.relative(process.cwd(), options.out) || options.out}`);

function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toPrecision(3);
}

function withRuns(scale: BenchScale, runs: number | undefined): BenchScale {
  if (runs === undefined) return scale;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a whole number of at least 1, got ${runs}`);
  return {
    ...scale,
    plan: { ...scale.plan, runs },
    applyOverhead: { ...scale.applyOverhead, runs },
    transformThroughput: { ...scale.transformThroughput, runs },
    bigPartition: { ...scale.bigPartition, runs },
    sqlTransform: { ...scale.sqlTransform, runs },
  };
}
