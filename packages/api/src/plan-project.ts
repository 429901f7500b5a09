import { compileProject, loadProjectConfig, type CompiledProject } from "@reflow/compiler";
import { createPlan, type Plan } from "@reflow/planner";
import { EMPTY_STATE, openStateStore, type StateSnapshot } from "@reflow/state";
import { observeSources, type ObservedSources } from "./observe-sources.js";
import type { ReflowOptions } from "./reflow-options.js";

export interface ProjectPlan {
  readonly project: CompiledProject;
  readonly snapshot: StateSnapshot;
  readonly plan: Plan;
}

/** Compiles a project and plans it against its state, without writing state or warehouse. */
export async function planProject(options: ReflowOptions = {}): Promise<ProjectPlan> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const store = await openStateStore(project.config.state, "read");
  try {
    const snapshot = store ? await store.reader.snapshot() : EMPTY_STATE;
    const asOf = options.asOf ?? new Date();
    return { project, snapshot, plan: planFor(project, snapshot, asOf, await observeSources(project, snapshot, asOf)) };
  } finally {
    await store?.close();
  }
}

export function planFor(project: CompiledProject, snapshot: StateSnapshot, asOf: Date = new Date(), observedSources?: ObservedSources): Plan {
  return createPlan({ datasets: project.datasets, order: project.order, state: snapshot, asOf, ...(observedSources ? { observedSources } : {}) });
}
