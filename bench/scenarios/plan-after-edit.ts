import { rmSync } from "node:fs";
import path from "node:path";
import { median, repeat } from "../measure-runs.js";
import { runReflow } from "../run-measured.js";
import { scenarioResult, type ScenarioResult } from "../scenario-result.js";
import { checkHelperEditPlan, EDITED_HELPER, planJson, type PlanFixture } from "./plan-fixture.js";

/**
 * `reflow plan --json` (the whole process) after editing one shared helper,
 * checked to list exactly the partitions the edit must rebuild.
 *
 * - `warm` (plan-warm): with the caches a previous plan left. Each run makes
 *   a new edit, so exactly one file is new to the fingerprint cache, as after
 *   a real edit.
 * - `cold` (plan-cold): reflow's fingerprint cache deleted before each run and
 *   tsx's compile cache disabled. (The OS page cache stays warm: dropping it
 *   needs root.)
 */
export function planAfterEdit(fixture: PlanFixture, runs: number, mode: "warm" | "cold"): ScenarioResult {
  const cwd = fixture.project.dir;
  let checked = { datasets: 0, tasks: 0 };
  const measured = repeat(runs, (i) => {
    fixture.editHelper(EDITED_HELPER, mode === "warm" ? i + 1 : 1);
    if (mode === "cold") rmSync(path.join(cwd, ".reflow/cache"), { recursive: true, force: true });
    const run = runReflow(["plan", "--json", "--as-of", fixture.asOf], { cwd, ...(mode === "cold" ? { env: { TSX_DISABLE_CACHE: "1" } } : {}) });
    checked = checkHelperEditPlan(planJson(run), fixture, EDITED_HELPER);
    return run;
  });
  fixture.editHelper(EDITED_HELPER, 0);
  const seconds = measured.map((r) => r.seconds);
  return scenarioResult({
    scenario: `plan-${mode}`,
    unit: "s",
    target: { comparison: "<=", value: mode === "warm" ? 1 : 15 },
    median: median(seconds),
    runs: seconds,
    details: {
      datasets: fixture.dag.datasets.length,
      files: fixture.dag.shape.files,
      partitions: fixture.partitions,
      builtVersions: fixture.versions,
      planned: checked,
      cpuSeconds: measured.map((r) => r.cpuSeconds),
    },
  });
}
