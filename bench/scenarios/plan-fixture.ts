import type { PlanJson } from "../../test/support/e2e.js";
import type { BenchScale } from "../bench-scale.js";
import { DAG_DEFAULTS } from "../bench-scale.js";
import { generateProject, type GeneratedProject } from "../generate-project.js";
import { runReflow, type MeasuredRun } from "../run-measured.js";
import { seedBuiltState } from "../seed-built-state.js";
import { syntheticDag } from "../synthetic-dag.js";

/** The helper plan scenarios edit. */
export const EDITED_HELPER = 0;

export interface PlanFixture extends GeneratedProject {
  /** Partition versions recorded as built. */
  readonly versions: number;
}

/** The plan scenarios' project: generated, every partition built, and checked to plan no changes. */
export async function planFixture(scale: BenchScale["plan"]): Promise<PlanFixture> {
  const dag = syntheticDag({ ...DAG_DEFAULTS, datasets: scale.datasets, files: scale.files });
  const generated = generateProject(dag, { partitions: scale.partitions, rowsPerPartition: 1 });
  const { versions } = await seedBuiltState(generated.project.dir, generated.asOf);
  const unchanged = planJson(runReflow(["plan", "--json", "--as-of", generated.asOf], { cwd: generated.project.dir }));
  if (unchanged.tasks.length !== 0) throw new Error(`the seeded state should plan no changes, but the plan has ${unchanged.tasks.length} tasks`);
  return { ...generated, versions };
}

export function planJson(run: MeasuredRun): PlanJson {
  return JSON.parse(run.stdout) as PlanJson;
}

/**
 * Throws unless the plan rebuilds exactly what editing `helper` must: every
 * partition of the datasets calling it (code-changed) and of everything
 * downstream of them (upstream-changed), nothing else.
 */
export function checkHelperEditPlan(plan: PlanJson, fixture: GeneratedProject, helper: number): { datasets: number; tasks: number } {
  const { direct, downstream } = fixture.dag.affectedBy(helper);
  const expected = new Map<string, string>([...[...direct].map((d) => [d, "code-changed"] as const), ...[...downstream].map((d) => [d, "upstream-changed"] as const)]);
  const seen = new Map<string, number>();
  for (const task of plan.tasks) {
    if (expected.get(task.dataset) !== task.reason) {
      throw new Error(`unexpected task in the plan: ${task.dataset} ${task.partition} ${task.reason} (expected ${expected.get(task.dataset) ?? "nothing"})`);
    }
    seen.set(task.dataset, (seen.get(task.dataset) ?? 0) + 1);
  }
  for (const name of expected.keys()) {
    if (seen.get(name) !== fixture.partitions) throw new Error(`${name}: expected ${fixture.partitions} tasks in the plan, found ${seen.get(name) ?? 0}`);
  }
  return { datasets: expected.size, tasks: plan.tasks.length };
}
