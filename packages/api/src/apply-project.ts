import { compileProject, loadProjectConfig, type CompiledProject } from "@reflow/compiler";
import { ReflowError } from "@reflow/core";
import { executePlan, type ApplyResult, type EngineEvent } from "@reflow/engine";
import { planToJson, type Plan } from "@reflow/planner";
import { EMPTY_STATE, openStateStore } from "@reflow/state";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";
import { planFor } from "./plan-project.js";
import type { ReflowOptions } from "./reflow-options.js";

export interface ApplyOptions extends ReflowOptions {
  /** Overrides the project's `concurrency`. */
  readonly concurrency?: number;
  /** Asked with the plan before anything is written; false cancels. Absent: apply without asking. */
  readonly confirm?: (plan: Plan, project: CompiledProject) => Promise<boolean>;
  readonly onEvent?: (event: EngineEvent) => void;
  /** Recorded with the run, for `status` and history. */
  readonly command?: string;
}

export interface ApplyOutcome {
  readonly project: CompiledProject;
  readonly plan: Plan;
  /** Absent when there was nothing to do or the user declined. */
  readonly result?: ApplyResult;
  readonly declined?: boolean;
}

/** Plans a project and executes the plan. */
export async function applyProject(options: ApplyOptions = {}): Promise<ApplyOutcome> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const concurrency = options.concurrency ?? project.config.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `concurrency must be a whole number of at least 1, got ${concurrency}`);
  }
  const asOf = options.asOf ?? new Date();
  // Plan and ask on a read-only view first: declining, or failing to ask,
  // must leave a new project without even a state file.
  const confirmed = await readOnlyPlan(project, asOf);
  if (!hasWork(confirmed)) return { project, plan: confirmed };
  if (options.confirm && !(await options.confirm(confirmed, project))) return { project, plan: confirmed, declined: true };

  const store = (await openStateStore(project.config.statePath, "write"))!;
  try {
    const snapshot = await store.reader.snapshot();
    const plan = planFor(project, snapshot, asOf);
    if (JSON.stringify(planToJson(plan)) !== JSON.stringify(planToJson(confirmed))) {
      throw new ReflowError(
        "REFLOW_STATE_CHANGED",
        `the state changed while the plan was shown (another apply ran?); nothing was applied. Run \`reflow plan\` again`,
      );
    }
    const warehouse = new SqliteWarehouse({ path: project.config.warehouse.path });
    try {
      const result = await executePlan({
        plan,
        datasets: project.datasets,
        snapshot,
        state: store.writer!,
        warehouse,
        concurrency,
        command: options.command ?? "apply",
        projectDir: project.config.projectDir,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      });
      return { project, plan, result };
    } finally {
      await warehouse.close();
    }
  } finally {
    await store.close();
  }
}

async function readOnlyPlan(project: CompiledProject, asOf: Date): Promise<Plan> {
  const store = await openStateStore(project.config.statePath, "read");
  try {
    return planFor(project, store ? await store.reader.snapshot() : EMPTY_STATE, asOf);
  } finally {
    await store?.close();
  }
}

/** A plan with no tasks and no dataset definition to record changes nothing. */
export function hasWork(plan: Plan): boolean {
  return plan.tasks.length > 0 || plan.datasets.some((d) => d.change !== "unchanged");
}
