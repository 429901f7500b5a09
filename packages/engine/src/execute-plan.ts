import {
  type RetryPolicy,
  type ColumnSpec,
  type DatasetDeclaration,
  type PartitionScheme,
  type Warehouse,
  type WarehouseTable,
  type SourceLocation,
} from "@reflow/core";
import type { Plan, PlannedTask } from "@reflow/planner";
import type { InputVersions, PartitionState, StateSnapshot, StateWriter } from "@reflow/state";
import type { ApplyResult, EngineEvent, TaskFailure } from "./engine-events.js";
import { buildUnit, type UnitOutcome } from "./build-unit.js";
import type { UnitDispatcher } from "./unit-dispatcher.js";
import { unitFingerprint } from "./unit-fingerprint.js";
import { ReadyQueue, type TaskOrder } from "./ready-queue.js";
import { describeTaskError, TaskError } from "./task-error.js";
import { GroupCommit } from "./group-commit.js";
import { taskDependencies } from "./task-dependencies.js";
import { taskUnits } from "./task-units.js";

/** The dataset facts the engine needs; a compiled dataset satisfies it. */
export interface ExecutableDataset {
  readonly name: string;
  readonly kind: "source" | "dataset";
  readonly partitions: PartitionScheme;
  readonly columns: readonly ColumnSpec[];
  readonly fingerprint: string;
  readonly inputs: readonly { readonly alias: string; readonly dataset: string }[];
  readonly declaration: DatasetDeclaration;
  /** Absent: no retries. */
  readonly retries?: RetryPolicy;
  /** What the fingerprint was made of; recorded with the run for `explain`. */
  readonly manifest?: unknown;
  /** Where the `sql` (or `transform`) property was written, for errors that cannot point at a stack frame. */
  readonly runAt?: SourceLocation;
  /** The printed source of the code the fingerprint covers, by hash; recorded for plan diffs. */
  readonly code?: { readonly sources: Readonly<Record<string, string>> };
}

export interface ExecutePlanOptions {
  readonly plan: Plan;
  readonly datasets: ReadonlyMap<string, ExecutableDataset>;
  /** The state the plan was made from: where the live input versions come from. */
  readonly snapshot: StateSnapshot;
  readonly state: StateWriter;
  readonly warehouse: Warehouse;
  readonly concurrency: number;
  /** Slots of the pools datasets declare (`pool: "api"`). */
  readonly pools?: Readonly<Record<string, number>>;
  /** Which ready task starts first (default: plan order). */
  readonly order?: TaskOrder;
  readonly command: string;
  /** Stack frames under this folder (outside node_modules) are shown as the place a transform failed. */
  readonly projectDir: string;
  readonly onEvent?: (event: EngineEvent) => void;
  /** When aborted, no new task starts; running ones finish and are recorded; the run ends `interrupted`. */
  readonly signal?: AbortSignal;
  /**
   * Distributed run (`apply --distribute`): units are built by whoever claims
   * them (this process's own slots included); this process still records,
   * publishes and confirms every one, exactly as for a local build.
   */
  readonly distribute?: UnitDispatcher;
}

/**
 * Runs a plan: every task after the tasks it reads, up to `concurrency` at a
 * time (and within each dataset's `maxConcurrency` and pool). Each partition
 * is written as a new version, validated and checked, recorded, published
 * atomically, then confirmed in state. A failing attempt is retried as the
 * dataset's policy says; a failure blocks only the tasks that read the failed
 * partition, transitively; everything else proceeds.
 */
export async function executePlan(options: ExecutePlanOptions): Promise<ApplyResult> {
  const { plan, datasets, state, warehouse } = options;
  const emit = options.onEvent ?? (() => {});
  const tasks = plan.tasks;
  const tables = new Map<string, WarehouseTable>();
  for (const name of new Set(tasks.map((t) => t.dataset))) {
    const table = { dataset: name, columns: datasets.get(name)!.columns };
    await warehouse.prepare(table);
    tables.set(name, table);
  }
  for (const dataset of datasets.values()) {
    if (!tables.has(dataset.name)) tables.set(dataset.name, { dataset: dataset.name, columns: dataset.columns });
  }

  const manifests = new Map<string, string>();
  const sources = new Map<string, string>();
  // Also for definitions recorded without a build (forward-only with nothing new): the next change is compared with it.
  const defined = plan.datasets.filter((d) => d.change === "added" || d.change === "modified").map((d) => d.name);
  for (const name of new Set([...tasks.map((t) => t.dataset), ...defined])) {
    const dataset = datasets.get(name)!;
    if (dataset.manifest !== undefined) manifests.set(dataset.fingerprint, JSON.stringify(dataset.manifest));
    for (const [hash, source] of Object.entries(dataset.code?.sources ?? {})) sources.set(hash, source);
  }
  const { runId, taskIds } = await state.beginRun(options.command, plan.asOf, tasks, manifests, plan.accepted ?? [], sources);
  emit({ type: "run-started", runId, total: tasks.length });
  const distribute = options.distribute;
  // What a claimer's code must match, per dataset: computed once, not per dispatched unit.
  const unitFingerprints = new Map<string, string>();
  const unitFingerprintOf = (dataset: ExecutableDataset) => {
    let fingerprint = unitFingerprints.get(dataset.name);
    if (fingerprint === undefined) unitFingerprints.set(dataset.name, (fingerprint = unitFingerprint(dataset, datasets)));
    return fingerprint;
  };
  await distribute?.start(runId);

  const live = new Map<string, Map<string, number>>();
  const liveOf = (dataset: string) => {
    let versions = live.get(dataset);
    if (!versions) {
      versions = new Map();
      for (const [partition, entry] of options.snapshot.partitions.get(dataset) ?? []) {
        if (entry.liveVersion !== null) versions.set(partition, entry.liveVersion);
      }
      live.set(dataset, versions);
    }
    return versions;
  };

  const { dependents, waitingFor } = taskDependencies(tasks);
  const pools = options.pools ?? {};
  const ready = new ReadyQueue(tasks, options.order ?? "plan", {
    datasetLimit: (name) => datasets.get(name)!.declaration.maxConcurrency,
    poolOf: (name) => {
      const pool = datasets.get(name)!.declaration.pool;
      return pool === undefined || pools[pool] === undefined ? undefined : { name: pool, size: pools[pool] };
    },
  });
  // The queue holds units, each by its first task; a unit is ready when all its tasks are.
  const { units, unitOf } = taskUnits(tasks, (name) => datasets.get(name)!.declaration.batch);
  const unitWaiting = units.map((members) => members.reduce((sum, i) => sum + waitingFor[i]!, 0));
  // The same counts, down as soon as an input is published (or ended without a version): a unit's readers
  // that its confirmation will make ready are known at its publish.
  const unitUnpublished = [...unitWaiting];
  const countedPublished: boolean[] = new Array(units.length).fill(false);
  /** Counts the unit's tasks as published (once); the first, in the order, of the units its confirmation will make ready. */
  const readerReleasedBy = (unit: number, members: readonly number[]): number | undefined => {
    if (countedPublished[unit]) return undefined;
    countedPublished[unit] = true;
    let first: number | undefined;
    for (const i of members) {
      for (const dependent of dependents[i]!) {
        const reader = unitOf[dependent]!;
        if (--unitUnpublished[reader]! === 0 && units[reader]!.some((d) => !blockedBy.has(d))) {
          const head = units[reader]![0]!;
          if (first === undefined || ready.goesBefore(head, first)) first = head;
        }
      }
    }
    return first;
  };
  units.forEach((members, u) => unitWaiting[u] === 0 && ready.push(members[0]!));
  const blockedBy = new Map<number, TaskFailure>();
  const failed: TaskFailure[] = [];
  const blocked: TaskFailure[] = [];
  const warnings: TaskFailure[] = [];
  let succeeded = 0;
  let unchanged = 0;
  let kept = 0;
  // Early cutoff: input partitions rebuilt in this run with the content of the version they replaced, to that version's id.
  const replacedByIdentical = new Map<string, number>();
  let rowsWritten = 0;
  let finished = 0;
  const done: boolean[] = new Array(tasks.length).fill(false);
  // Units still building: when none is, a pending commit group can grow no more.
  let building = 0;
  const commits = new GroupCommit({ state, warehouse, idle: () => building === 0 });
  const signal = options.signal;
  // The run's first error that no task owns; from then on no unit starts, and running builds skip their retries.
  let fatal: { readonly error: unknown } | undefined;
  const stopping = new AbortController();
  const stopBuilds = signal ? AbortSignal.any([signal, stopping.signal]) : stopping.signal;

  /**
   * Runs one unit: a task, or a batch of one batched dataset's tasks (one
   * transform call, one publish). `built` is called once the transform and
   * writes are done and the versions wait for their group's commit (or the
   * unit ended without them); `published` once they are published (they are
   * then confirmed with a later commit). False if the unit was withdrawn unstarted.
   */
  const runUnit = async (members: readonly number[], built: () => void, published: () => void): Promise<boolean> => {
    const dataset = datasets.get(tasks[members[0]!]!.dataset)!;
    const builds: Build[] = [];
    for (const i of members) {
      const task = tasks[i]!;
      const taskId = taskIds[i]!;
      emit({ type: "task-started", task });
      const previous = options.snapshot.partitions.get(task.dataset)?.get(task.partition);
      let inputs: InputVersions;
      try {
        inputs = currentInputs(task, liveOf);
      } catch (error) {
        await failBuilds([{ i, task, taskId, previous, inputs: {} }], [describeTaskError(error, task)]);
        continue;
      }
      // Non-breaking change upstream: the live version stays, valid for the new input versions.
      if (task.keep) {
        await state.taskUnchanged(taskId, task.dataset, task.partition, inputs);
        kept += 1;
        emit({ type: "task-finished", task, outcome: "unchanged" });
        continue;
      }
      if (task.reason === "upstream-changed" && previous?.liveVersion != null && readsSameContent(previous.inputs, inputs, replacedByIdentical)) {
        await state.taskUnchanged(taskId, task.dataset, task.partition, inputs);
        unchanged += 1;
        emit({ type: "task-finished", task, outcome: "unchanged" });
        continue;
      }
      builds.push({ i, task, taskId, previous, inputs });
    }
    if (builds.length === 0) return true;
    const unitBuilds = builds.map(({ task, taskId, previous, inputs }) => ({
      taskId,
      partition: task.partition,
      inputs,
      ...(previous?.liveVersion != null && previous.rowCount != null ? { previousRows: previous.rowCount } : {}),
    }));
    let outcome: UnitOutcome;
    if (distribute) {
      const remote = await distribute.dispatch({ dataset: dataset.name, fingerprint: unitFingerprintOf(dataset), builds: unitBuilds });
      // Withdrawn before anyone claimed it (the run is stopping): not started, left as it was.
      if (remote === undefined) return false;
      outcome = remote;
      // The claimer (maybe on another machine) does not write state: its retried attempts are recorded here.
      for (const failure of outcome.failedAttempts) {
        for (const [k, { taskId }] of builds.entries()) await state.attemptFailed(taskId, failure.attempt, new Date(failure.startedAt), failure.errors[k]!);
      }
    } else {
      outcome = await buildUnit({
        dataset,
        builds: unitBuilds,
        tables,
        warehouse,
        projectDir: options.projectDir,
        signal: stopBuilds,
        onRetry: async (failure, attempts, delayMs) => {
          for (const [k, { task, taskId }] of builds.entries()) {
            await state.attemptFailed(taskId, failure.attempt, new Date(failure.startedAt), failure.errors[k]!);
            emit({ type: "task-retrying", task, attempt: failure.attempt, attempts, delayMs, error: failure.errors[k]! });
          }
        },
      });
    }
    if (outcome.status === "failed") {
      await failBuilds(builds, outcome.errors, outcome.attempts);
      return true;
    }
    const attempt = outcome.attempts;
    try {
      const results = outcome.results;
      // Record, publish, confirm, with other finished units (group commit): a crash between any two steps is
      // settled by reconcile. A batch is published in one atomic step, like a single partition.
      const confirmed = commits.submit(
        {
          dataset: dataset.name,
          built: builds.map(({ taskId }, k) => ({ taskId, result: { ...results[k]!, attempts: attempt } })),
          refs: builds.map(({ task, taskId }) => ({ partition: task.partition, version: taskId })),
          published: builds.map(({ task, taskId }) => ({ taskId, dataset: task.dataset, partition: task.partition })),
        },
        published,
      );
      // Queued first, so that the scheduler going idle now commits this unit too.
      built();
      await confirmed;
      for (const [k, { task, taskId, previous }] of builds.entries()) {
        const result = results[k]!;
        liveOf(task.dataset).set(task.partition, taskId);
        if (previous?.liveVersion != null && previous.contentHash === result.contentHash) {
          replacedByIdentical.set(partitionId(task.dataset, task.partition), previous.liveVersion);
        }
        succeeded += 1;
        rowsWritten += result.rowCount;
        for (const warning of result.warnings) warnings.push({ dataset: task.dataset, partition: task.partition, error: warning });
        emit({ type: "task-finished", task, outcome: "succeeded", rowCount: result.rowCount, warnings: result.warnings });
      }
    } catch (error) {
      const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
      await failBuilds(builds, builds.map(({ task }) => `${describeTaskError(error, task)}${tries}`), attempt);
    }
    return true;
  };

  /** A failure fails every task of the unit (a batch fails as a whole) and blocks their readers. */
  const failBuilds = async (builds: readonly Build[], messages: readonly string[], attempt = 1): Promise<void> => {
    for (const [k, { i, task, taskId }] of builds.entries()) {
      const message = messages[k]!;
      await state.taskFailed(taskId, task.dataset, task.partition, message, attempt);
      const failure = { dataset: task.dataset, partition: task.partition, error: message };
      failed.push(failure);
      emit({ type: "task-finished", task, outcome: "failed", error: message });
      await blockDependents(i, failure);
    }
  };

  const blockDependents = async (root: number, failure: TaskFailure): Promise<void> => {
    const newlyBlocked: number[] = [];
    const stack = [...dependents[root]!];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (blockedBy.has(i)) continue;
      blockedBy.set(i, failure);
      newlyBlocked.push(i);
      stack.push(...dependents[i]!);
    }
    if (newlyBlocked.length === 0) return;
    const reason = `input ${failure.dataset} ${failure.partition} failed`;
    await state.tasksBlocked(newlyBlocked.map((i) => taskIds[i]!), reason);
    for (const i of newlyBlocked) {
      const task = tasks[i]!;
      blocked.push({ dataset: task.dataset, partition: task.partition, error: reason });
      emit({ type: "task-finished", task, outcome: "blocked", error: reason });
    }
    finished += newlyBlocked.length;
  };

  await new Promise<void>((resolve, reject) => {
    // Units holding a slot (building, or built and not yet published), and units not yet finished (confirmed or failed).
    let running = 0;
    let unfinished = 0;
    const settle = () => {
      if (fatal) {
        if (unfinished > 0) return true;
        signal?.removeEventListener("abort", settle);
        reject(fatal.error);
        return true;
      }
      if (finished === tasks.length || (signal?.aborted && unfinished === 0)) {
        signal?.removeEventListener("abort", settle);
        resolve();
        return true;
      }
      return false;
    };
    const pump = () => {
      // Distributed: every ready unit goes to the queue at once (claimers across machines take them); else up to `concurrency` here.
      while (!signal?.aborted && !fatal && running < (distribute ? Infinity : options.concurrency)) {
        const first = ready.take();
        if (first === undefined) break;
        // Tasks blocked by a failed input were counted as finished when they were blocked.
        const members = units[unitOf[first]!]!.filter((i) => !blockedBy.has(i));
        if (members.length === 0) {
          ready.release(first);
          continue;
        }
        running += 1;
        unfinished += 1;
        building += 1;
        let stillBuilding = true;
        let holdsSlot = true;
        // The unit keeps its slot until published, so at most `concurrency` units are ever built
        // and unpublished (what a killed apply loses), as without group commit; the group is
        // the units that finish building together. A published unit is not lost (reconcile
        // confirms it): its slot goes to the next unit while it waits for its confirmation,
        // which then shares that unit's record.
        const built = () => {
          if (!stillBuilding) return;
          stillBuilding = false;
          building -= 1;
          commits.poke();
        };
        const freeSlot = () => {
          if (!holdsSlot) return;
          holdsSlot = false;
          running -= 1;
          ready.release(first);
        };
        const published = () => {
          if (!holdsSlot) return;
          const reader = readerReleasedBy(unitOf[first]!, members);
          freeSlot();
          if (reader !== undefined && readerGoesFirst(reader)) {
            // The confirmation will make a reader ready that starts before anything ready now: keep the
            // slot until then, so tasks start in the order they did when slots were freed at confirmation.
            holdsSlot = true;
            running += 1;
            ready.hold(first);
            return;
          }
          pump();
        };
        runUnit(members, built, published).then(
          (started) => {
            built();
            freeSlot();
            readerReleasedBy(unitOf[first]!, members);
            unfinished -= 1;
            if (!started) {
              settle();
              return;
            }
            finished += members.length;
            for (const i of members) {
              done[i] = true;
              for (const dependent of dependents[i]!) {
                const unit = unitOf[dependent]!;
                if (--unitWaiting[unit]! === 0 && units[unit]!.some((d) => !blockedBy.has(d))) ready.push(units[unit]![0]!);
              }
            }
            if (!settle()) pump();
          },
          (error: unknown) => {
            built();
            freeSlot();
            unfinished -= 1;
            stopWith(error);
          },
        );
      }
      settle();
    };
    /**
     * An error no task owns (a state write failed, the writer lock was lost): the run stops. Local units
     * under way finish first (a lost lock refuses their writes too): none may write or publish after the
     * run has returned and its caller released the lock. The first such error is the run's.
     */
    const stopWith = (error: unknown) => {
      if (!fatal) {
        fatal = { error };
        stopping.abort();
        // Remote units are not waited for: this run can record none of them, and a claimer may never report.
        distribute?.abandon(error);
        // Once the rejections this error caused have run (a failed group fails its units together, and
        // abandon rejects the remote ones): what is left is what the run waits for.
        setImmediate(() => {
          if (unfinished > 0) emit({ type: "run-stopping", error, underWay: unfinished });
        });
      }
      settle();
    };
    /** Whether `reader` would start before the task that would start now; true if none would. */
    const readerGoesFirst = (reader: number): boolean => {
      if (signal?.aborted) return false;
      const next = ready.take();
      if (next === undefined) return true;
      ready.putBack(next);
      return ready.goesBefore(reader, next);
    };
    signal?.addEventListener("abort", settle);
    // Stopping a distributed run takes back the units nobody claimed yet; claimed ones finish and are recorded.
    const withdraw = () => void distribute?.withdraw().catch(stopWith);
    signal?.addEventListener("abort", withdraw, { once: true });
    if (signal?.aborted) withdraw();
    pump();
  }).finally(() => distribute?.stop());

  // Tasks never started because the run was stopped: left exactly as they were.
  const notStarted = tasks.flatMap((_, i) => (done[i] || blockedBy.has(i) ? [] : [i]));
  if (notStarted.length > 0) await state.tasksInterrupted(notStarted.map((i) => taskIds[i]!));

  const status = notStarted.length > 0 ? "interrupted" : failed.length === 0 ? "succeeded" : "failed";
  const position = new Map(tasks.map((t, i) => [`${t.dataset}\u0000${t.partition}`, i]));
  const inPlanOrder = (a: TaskFailure, b: TaskFailure) => position.get(`${a.dataset}\u0000${a.partition}`)! - position.get(`${b.dataset}\u0000${b.partition}`)!;
  failed.sort(inPlanOrder);
  blocked.sort(inPlanOrder);
  const incomplete = new Set(
    [...failed, ...blocked]
      .map((f) => f.dataset)
      .concat(plan.deferred?.datasets ?? [], notStarted.map((i) => tasks[i]!.dataset)),
  );
  const applied = plan.datasets
    .filter((d) => d.change !== "removed" && d.change !== "unchanged" && !incomplete.has(d.name))
    .map((d) => ({ name: d.name, kind: d.kind!, fingerprint: d.fingerprint!, ...(d.metadata !== undefined ? { metadata: d.metadata } : {}) }));
  await state.finishRun(runId, status, applied, plan.datasets.filter((d) => d.change === "removed").map((d) => d.name));
  warnings.sort(inPlanOrder);
  return { runId, status, succeeded, unchanged, kept, failed, blocked, warnings, notStarted: notStarted.length, rowsWritten };
}

/** The live version of every input partition the task reads; fails if one was never built. */
function currentInputs(task: PlannedTask, liveOf: (dataset: string) => Map<string, number>): InputVersions {
  const inputVersions: Record<string, Record<string, number>> = {};
  for (const input of task.inputs) {
    const versions = liveOf(input.dataset);
    const read: Record<string, number> = {};
    for (const partition of input.partitions) {
      const v = versions.get(partition);
      if (v === undefined) throw new TaskError("REFLOW_UPSTREAM_FAILED", `input ${input.dataset} ${partition} has no built version`);
      read[partition] = v;
    }
    inputVersions[input.dataset] = read;
  }
  return inputVersions;
}

/**
 * Early cutoff: the live version was built from exactly these input
 * partitions, and each is either the same version or was rebuilt in this run
 * with identical content, so rebuilding would give the same rows.
 */
function readsSameContent(built: InputVersions, now: InputVersions, replacedByIdentical: ReadonlyMap<string, number>): boolean {
  const datasets = Object.keys(now);
  if (datasets.length !== Object.keys(built).length) return false;
  for (const dataset of datasets) {
    const before = built[dataset];
    const after = now[dataset]!;
    const partitions = Object.keys(after);
    if (!before || partitions.length !== Object.keys(before).length) return false;
    for (const partition of partitions) {
      const was = before[partition];
      if (was === undefined) return false;
      if (after[partition] !== was && replacedByIdentical.get(partitionId(dataset, partition)) !== was) return false;
    }
  }
  return true;
}

function partitionId(dataset: string, partition: string): string {
  return `${dataset}\u0000${partition}`;
}

/** A task about to be built: its live version before, and the input versions it will read. */
interface Build {
  readonly i: number;
  readonly task: PlannedTask;
  readonly taskId: number;
  readonly previous: PartitionState | undefined;
  readonly inputs: InputVersions;
}

