import { compileProject, loadProjectConfig, type CompiledProject } from "@reflow/compiler";
import { createPlan, withMixedLogicWarnings, type CategoryFlags, type Plan, type PlanRequest } from "@reflow/planner";
import { EMPTY_STATE, openStateStore, type StateSnapshot } from "@reflow/state";
import { checkCategoryFlags, resolveCategories, type ResolvedCategories } from "./change-categories.js";
import { codeDiffs, type DatasetCodeDiff } from "./code-diff.js";
import { observeSources, type ObservedSources } from "./observe-sources.js";
import type { ReflowOptions } from "./reflow-options.js";

export interface ProjectPlan {
  readonly project: CompiledProject;
  /** On demand unless `completeSnapshot`: reading a dataset planning did not read, after planProject returned, throws. */
  readonly snapshot: StateSnapshot;
  readonly plan: Plan;
  /** For each dataset rebuilt as `code-changed`, what changed in its code since its live partitions were built. */
  readonly diffs: readonly DatasetCodeDiff[];
  /** What observing the sources found now (by source, then partition): `v:` a `sourceVersion()`, `c:` a content hash. */
  readonly observed: ObservedSources;
}

export interface PlanOptions extends ReflowOptions {
  /** `--breaking`, `--non-breaking`, `--forward-only NAME` and `--from KEY`. */
  readonly categoryFlags?: CategoryFlags;
  /**
   * Read every partition into `ProjectPlan.snapshot`, for callers that use it
   * after planning (status, explain). Otherwise the snapshot holds only what
   * planning read: datasets it proved up to date from summaries are not read.
   */
  readonly completeSnapshot?: boolean;
}

/** Compiles a project and plans it against its state, without writing state or warehouse. */
export async function planProject(options: PlanOptions = {}): Promise<ProjectPlan> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const flags = options.categoryFlags ?? {};
  checkCategoryFlags(project, flags);
  const store = await openStateStore(project.config.state, "read");
  try {
    const snapshot = store ? await store.reader.snapshot({ onDemand: !options.completeSnapshot, deferDetails: true }) : EMPTY_STATE;
    const asOf = options.asOf ?? new Date();
    const resolved = await resolveCategories(project, snapshot, flags, async (fingerprints) => (store ? store.reader.manifests(fingerprints) : new Map()));
    const observed = await observeSources(project, snapshot, asOf);
    const plan = planFor(project, snapshot, asOf, observed, resolved, options.includeIncomplete);
    return { project, snapshot, plan, observed, diffs: store ? await codeDiffs(project, snapshot, plan, store.reader) : [] };
  } finally {
    await store?.close();
  }
}

/** The plan of the whole project, with its change categories and mixed-logic warnings. */
export function planFor(
  project: CompiledProject,
  snapshot: StateSnapshot,
  asOf: Date = new Date(),
  observedSources?: ObservedSources,
  resolved?: ResolvedCategories,
  includeIncomplete = false,
): Plan {
  const plan = createPlan({
    ...planRequest(project, snapshot, asOf, observedSources, includeIncomplete),
    ...(resolved ? { categories: resolved.categories } : {}),
    ...(resolved?.forwardFrom !== undefined ? { forwardFrom: resolved.forwardFrom } : {}),
  });
  return warnAboutMixedLogic(plan, project, snapshot);
}

/** What every plan of the project is made from. */
export function planRequest(project: CompiledProject, snapshot: StateSnapshot, asOf: Date, observedSources?: ObservedSources, includeIncomplete = false): PlanRequest {
  return {
    datasets: project.datasets,
    order: project.order,
    state: snapshot,
    asOf,
    ...(observedSources ? { observedSources } : {}),
    ...(includeIncomplete ? { includeIncomplete } : {}),
  };
}

/** Recomputes a plan's mixed-logic warnings, after narrowing it (`--max-tasks`, a backfill). */
export function warnAboutMixedLogic(plan: Plan, project: CompiledProject, snapshot: StateSnapshot): Plan {
  return withMixedLogicWarnings(plan, { datasets: project.datasets, order: project.order, state: snapshot });
}
