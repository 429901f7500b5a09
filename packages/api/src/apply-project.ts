import { readFileSync } from "node:fs";
import { compileProject, loadProjectConfig, type CompiledProject } from "@reflow/compiler";
import { displayPath, ReflowError, type Warehouse } from "@reflow/core";
import { executePlan, queueDispatcher, type ApplyResult, type EngineEvent, type TaskOrder } from "@reflow/engine";
import { limitPlan, parseSavedPlan, planDigest, stalePlanReason, type CategoryFlags, type Plan, type SavedPlan } from "@reflow/planner";
import { EMPTY_STATE, openStateStore, type ReconcileResult, type StateReader, type StateSnapshot } from "@reflow/state";
import { backfillPlan, type BackfillRequest } from "./backfill-request.js";
import { checkCategoryFlags, resolveCategories } from "./change-categories.js";
import { liveVersionLookup } from "./live-version-lookup.js";
import { observeSources, type ObservationCache } from "./observe-sources.js";
import { openStateForReading } from "./open-state-for-reading.js";
import { openWarehouse } from "./open-warehouse.js";
import { planFor, warnAboutMixedLogic } from "./plan-project.js";
import { requireSharedStorage } from "./require-shared-storage.js";
import { workQueueTimings } from "./work-queue-timings.js";
import { waitUntilUnlocked } from "./wait-until-unlocked.js";
import type { ReflowOptions } from "./reflow-options.js";

export interface ApplyOptions extends ReflowOptions {
  /** Overrides the project's `concurrency`. */
  readonly concurrency?: number;
  /**
   * Asked with the plan before anything is written; false cancels. Absent:
   * apply without asking. Not asked for a saved plan (`planFile`), which was
   * reviewed when it was saved.
   */
  readonly confirm?: (plan: Plan, project: CompiledProject) => Promise<boolean>;
  /** A plan saved by `reflow plan --out`: apply exactly it, or refuse if it is stale. */
  readonly planFile?: string;
  /** Which ready partition starts first: plan order (default), oldest-first or newest-first. */
  readonly order?: TaskOrder;
  /** Apply only the first N tasks (in topological order); the rest is left for the next apply. */
  readonly maxTasks?: number;
  /** How long to wait for another writer's lock: 0 fails at once (default), Infinity waits for ever. */
  readonly waitMs?: number;
  /** Called with the plan about to run, after the lock is held (for printing a saved plan). */
  readonly onPlan?: (plan: Plan, project: CompiledProject) => void;
  readonly onEvent?: (event: EngineEvent) => void;
  /** Stops starting new tasks when aborted; running tasks finish and are recorded. */
  readonly signal?: AbortSignal;
  /** Run a backfill instead of the whole plan (`reflow backfill`). */
  readonly backfill?: BackfillRequest;
  /** Recorded with the run and the lock, for `status` and for whoever finds the state locked. */
  readonly command?: string;
  /** `--breaking`, `--non-breaking`, `--forward-only NAME`, `--from KEY`; a saved plan brings its own. */
  readonly categoryFlags?: CategoryFlags;
  /**
   * `--distribute`: `reflow worker` processes sharing the PostgreSQL state
   * build the run's units too (this process builds `concurrency` at a time
   * itself); this process still records and publishes every one.
   */
  readonly distribute?: boolean;
}

export interface ApplyOutcome {
  readonly project: CompiledProject;
  readonly plan: Plan;
  /** Absent when there was nothing to do or the user declined. */
  readonly result?: ApplyResult;
  readonly declined?: boolean;
  /** Runs a dead process had left unfinished, settled before planning. */
  readonly reconciled?: ReconcileResult;
}

/**
 * Plans a project and executes the plan, holding the state's writer lock from
 * before the plan that runs until the run is recorded.
 */
export async function applyProject(options: ApplyOptions = {}): Promise<ApplyOutcome> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  if (options.distribute) requireSharedStorage(project.config, "apply --distribute");
  const concurrency = options.concurrency ?? project.config.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `concurrency must be a whole number of at least 1, got ${concurrency}`);
  }
  const saved = options.planFile ? readSavedPlan(options.planFile) : undefined;
  if (saved && options.categoryFlags && Object.keys(options.categoryFlags).length > 0) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", "category flags cannot be used with a saved plan: it is applied with the categories it was made with");
  }
  const flags = saved?.categoryFlags ?? options.categoryFlags ?? {};
  checkCategoryFlags(project, flags);
  const asOf = saved ? new Date(saved.asOf) : (options.asOf ?? new Date());
  const command = options.command ?? "apply";
  // A saved plan is re-planned as it was made: with incomplete partitions if it has any.
  const includeIncomplete = saved ? saved.tasks.some((t) => t.incomplete) : (options.includeIncomplete ?? false);

  // Everything that can refuse is decided on a read-only view first, so that a
  // refusal (locked, stale, declined, no terminal to ask on) leaves the state
  // byte for byte as it was, and a new project without even a state file.
  await waitUntilUnlocked(project.config.state, options.waitMs ?? 0);
  const observed: ObservationCache = new Map();
  const planOf = async (snapshot: StateSnapshot, reader: StateReader | undefined) => {
    const sources = await observeSources(project, snapshot, asOf, observed);
    const resolved = await resolveCategories(project, snapshot, flags, async (fingerprints) => (reader ? reader.manifests(fingerprints) : new Map())).catch(
      (error: unknown) => {
        // A saved plan's flags that no longer fit (its dataset was applied since): the plan is stale.
        if (saved && error instanceof ReflowError && error.code === "REFLOW_INVALID_ARGUMENT") throw stalePlanError(options.planFile!, "the state changed since the plan was made (another apply ran)");
        throw error;
      },
    );
    if (options.backfill) return backfillPlan(project, snapshot, asOf, { ...options.backfill, includeIncomplete }, sources, resolved);
    return planFor(project, snapshot, asOf, sources, resolved, includeIncomplete);
  };
  const preview = await readOnlyPreview(project, planOf);
  if (saved) {
    const stale = stalePlanReason(saved, preview.plan);
    if (stale) throw stalePlanError(options.planFile!, stale);
  }
  let confirmed: Plan | undefined;
  if (!saved) {
    confirmed = limited(preview.plan, options.maxTasks, project, preview.snapshot);
    if (!hasWork(confirmed) && !preview.unfinishedRuns) return { project, plan: confirmed };
    if (hasWork(confirmed) && options.confirm && !(await options.confirm(confirmed, project))) {
      return { project, plan: confirmed, declined: true };
    }
  }

  const store = (await openStateStore(project.config.state, "write"))!;
  try {
    // Another apply may have started since the read-only check: wait as asked.
    const lock = await store.lock!.acquire({ command, waitMs: options.waitMs ?? 0 });
    let warehouse: Warehouse | undefined;
    try {
      warehouse = (await openWarehouse(project.config.warehouse, "write"))!;
      const reconciled = await store.writer!.reconcile(liveVersionLookup(warehouse));
      // On demand: read while the store is open, by planning and by the engine (the datasets it builds and reads).
      const snapshot = await store.reader.snapshot({ onDemand: true });
      let plan = await planOf(snapshot, store.reader);
      if (saved) {
        const stale = stalePlanReason(saved, plan);
        if (stale) throw stalePlanError(options.planFile!, stale);
      }
      plan = limited(plan, options.maxTasks, project, snapshot);
      if (confirmed && planDigest(plan) !== planDigest(confirmed)) {
        // Settling a crashed run legitimately changes the plan: show it and ask again.
        if (reconciled.runs.length === 0) {
          throw new ReflowError(
            "REFLOW_STATE_CHANGED",
            "the state changed while the plan was shown (another apply ran?); nothing was applied. Run `reflow plan` again",
          );
        }
        if (hasWork(plan) && options.confirm && !(await options.confirm(plan, project))) return { project, plan, declined: true, reconciled };
      }
      const outcome = { project, plan, ...(reconciled.runs.length > 0 ? { reconciled } : {}) };
      if (!hasWork(plan)) return outcome;
      options.onPlan?.(plan, project);
      // The run writes the partitions it builds: read them now, as they were planned from (planning may
      // have decided them from summaries alone), so that the engine never reads what this run wrote.
      for (const dataset of new Set(plan.tasks.map((task) => task.dataset))) snapshot.partitions.get(dataset);
      const result = await executePlan({
        plan,
        datasets: project.datasets,
        snapshot,
        state: store.writer!,
        warehouse,
        concurrency,
        pools: project.config.pools,
        ...(options.order ? { order: options.order } : {}),
        command,
        projectDir: project.config.projectDir,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.distribute
          ? {
              distribute: queueDispatcher({
                queue: store.workQueue!,
                datasets: project.datasets,
                warehouse,
                projectDir: project.config.projectDir,
                slots: concurrency,
                ...workQueueTimings(),
              }),
            }
          : {}),
      });
      return { ...outcome, result };
    } finally {
      await warehouse?.close();
      await lock.release();
    }
  } finally {
    await store.close();
  }
}

/** A plan with no tasks and no dataset definition to record changes nothing. */
export function hasWork(plan: Plan): boolean {
  return plan.tasks.length > 0 || plan.datasets.some((d) => d.change !== "unchanged");
}

/** The first `maxTasks` tasks, with the mixed-logic warnings of what that leaves. */
function limited(plan: Plan, maxTasks: number | undefined, project: CompiledProject, snapshot: StateSnapshot): Plan {
  const cut = limitPlan(plan, maxTasks);
  return cut === plan ? plan : warnAboutMixedLogic(cut, project, snapshot);
}

interface Preview {
  readonly plan: Plan;
  readonly snapshot: StateSnapshot;
  /** A run was left `running` by a process that stopped: apply settles it even if there is nothing to plan. */
  readonly unfinishedRuns: boolean;
}

async function readOnlyPreview(project: CompiledProject, planOf: (snapshot: StateSnapshot, reader: StateReader | undefined) => Promise<Plan>): Promise<Preview> {
  const store = await openStateForReading(project.config.state);
  try {
    if (!store) return { plan: await planOf(EMPTY_STATE, undefined), snapshot: EMPTY_STATE, unfinishedRuns: false };
    const [snapshot, runs] = await Promise.all([store.reader.snapshot(), store.reader.runs(1)]);
    return { plan: await planOf(snapshot, store.reader), snapshot, unfinishedRuns: runs[0]?.status === "running" };
  } finally {
    await store?.close();
  }
}

function stalePlanError(file: string, reason: string): ReflowError {
  return new ReflowError("REFLOW_PLAN_STALE", `${displayPath(file)} can no longer be applied: ${reason}; nothing was applied. Run \`reflow plan --out\` again`);
}

function readSavedPlan(file: string): SavedPlan {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ReflowError("REFLOW_PLAN_INVALID", `${displayPath(file)}: cannot read the saved plan: ${(error as Error).message}`);
  }
  return parseSavedPlan(text, displayPath(file));
}
