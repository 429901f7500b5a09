import {
  ContentHasher,
  NO_RETRIES,
  partitionInfo,
  retryDelayMs,
  type RetryPolicy,
  type ColumnSpec,
  type DatasetDeclaration,
  type InputReader,
  type PartitionScheme,
  type Row,
  type Warehouse,
  type WarehouseTable,
} from "@reflow/core";
import type { Plan, PlannedTask } from "@reflow/planner";
import type { InputVersions, StateSnapshot, StateWriter } from "@reflow/state";
import type { ApplyResult, EngineEvent, TaskFailure } from "./engine-events.js";
import { PartitionAudit } from "./partition-audit.js";
import { asRows } from "./transform-output.js";
import { ReadyQueue, type TaskOrder } from "./ready-queue.js";
import { describeTaskError, isRetryable, schemaViolation, TaskError } from "./task-error.js";
import { taskDependencies } from "./task-dependencies.js";

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
}

const WRITE_BATCH = 5_000;

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
  for (const name of new Set(tasks.map((t) => t.dataset))) {
    const dataset = datasets.get(name)!;
    if (dataset.manifest !== undefined) manifests.set(dataset.fingerprint, JSON.stringify(dataset.manifest));
    for (const [hash, source] of Object.entries(dataset.code?.sources ?? {})) sources.set(hash, source);
  }
  const { runId, taskIds } = await state.beginRun(options.command, plan.asOf, tasks, manifests, sources);
  emit({ type: "run-started", runId, total: tasks.length });

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
  tasks.forEach((_, i) => waitingFor[i] === 0 && ready.push(i));
  const blockedBy = new Map<number, TaskFailure>();
  const failed: TaskFailure[] = [];
  const blocked: TaskFailure[] = [];
  const warnings: TaskFailure[] = [];
  let succeeded = 0;
  let unchanged = 0;
  // Early cutoff: input partitions rebuilt in this run with the content of the version they replaced, to that version's id.
  const replacedByIdentical = new Map<string, number>();
  let rowsWritten = 0;
  let finished = 0;
  const done: boolean[] = new Array(tasks.length).fill(false);

  const runOne = async (i: number): Promise<void> => {
    const task = tasks[i]!;
    const taskId = taskIds[i]!;
    const dataset = datasets.get(task.dataset)!;
    emit({ type: "task-started", task });
    const policy = dataset.retries ?? NO_RETRIES;
    let attempt = 1;
    try {
      const previous = options.snapshot.partitions.get(task.dataset)?.get(task.partition);
      const inputs = currentInputs(task, liveOf);
      if (task.reason === "upstream-changed" && previous?.liveVersion != null && readsSameContent(previous.inputs, inputs, replacedByIdentical)) {
        await state.taskUnchanged(taskId, task.dataset, task.partition, inputs);
        unchanged += 1;
        emit({ type: "task-finished", task, outcome: "unchanged" });
        return;
      }
      const previousRows = previous?.liveVersion != null && previous.rowCount != null ? previous.rowCount : undefined;
      let result: Awaited<ReturnType<typeof buildPartition>>;
      for (;;) {
        const startedAt = new Date();
        try {
          result = await buildPartition(task, taskId, dataset, inputs, tables, warehouse, options.projectDir, previousRows);
          break;
        } catch (error) {
          if (attempt >= policy.attempts || !isRetryable(error) || signal?.aborted) throw error;
          const message = describeTaskError(error, task);
          const delayMs = retryDelayMs(policy, attempt + 1);
          await state.attemptFailed(taskId, attempt, startedAt, message);
          emit({ type: "task-retrying", task, attempt, attempts: policy.attempts, delayMs, error: message });
          attempt += 1;
          // Ctrl-C during the wait: give up the retry, the task fails with the last error.
          if (!(await sleep(delayMs, signal))) throw error;
        }
      }
      // Record, publish, confirm: a crash between any two steps is settled by reconcile.
      await state.taskBuilt(taskId, { ...result, attempts: attempt });
      await warehouse.publish(task.dataset, [{ partition: task.partition, version: taskId }]);
      await state.taskSucceeded(taskId, task.dataset, task.partition);
      liveOf(task.dataset).set(task.partition, taskId);
      if (previous?.liveVersion != null && previous.contentHash === result.contentHash) {
        replacedByIdentical.set(partitionId(task.dataset, task.partition), previous.liveVersion);
      }
      succeeded += 1;
      rowsWritten += result.rowCount;
      for (const warning of result.warnings) warnings.push({ dataset: task.dataset, partition: task.partition, error: warning });
      emit({ type: "task-finished", task, outcome: "succeeded", rowCount: result.rowCount, warnings: result.warnings });
    } catch (error) {
      const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
      const message = `${describeTaskError(error, task)}${tries}`;
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

  const signal = options.signal;
  await new Promise<void>((resolve, reject) => {
    let running = 0;
    const settle = () => {
      if (finished === tasks.length || (signal?.aborted && running === 0)) {
        signal?.removeEventListener("abort", settle);
        resolve();
        return true;
      }
      return false;
    };
    const pump = () => {
      while (!signal?.aborted && running < options.concurrency) {
        const i = ready.take();
        if (i === undefined) break;
        if (blockedBy.has(i)) {
          ready.release(i);
          continue;
        }
        running += 1;
        runOne(i).then(
          () => {
            running -= 1;
            ready.release(i);
            finished += 1;
            done[i] = true;
            for (const dependent of dependents[i]!) {
              if (--waitingFor[dependent]! === 0 && !blockedBy.has(dependent)) ready.push(dependent);
            }
            if (!settle()) pump();
          },
          reject,
        );
      }
      settle();
    };
    signal?.addEventListener("abort", settle);
    pump();
  });

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
    .map((d) => ({ name: d.name, kind: d.kind!, fingerprint: d.fingerprint! }));
  await state.finishRun(runId, status, applied, plan.datasets.filter((d) => d.change === "removed").map((d) => d.name));
  warnings.sort(inPlanOrder);
  return { runId, status, succeeded, unchanged, failed, blocked, warnings, notStarted: notStarted.length, rowsWritten };
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

/** Runs the user's function on the task's inputs, validates and checks the rows, and writes them as a new version. */
async function buildPartition(
  task: PlannedTask,
  version: number,
  dataset: ExecutableDataset,
  inputVersions: InputVersions,
  tables: ReadonlyMap<string, WarehouseTable>,
  warehouse: Warehouse,
  projectDir: string,
  previousRows: number | undefined,
) {
  const readers: Record<string, InputReader<Row>> = {};
  for (const input of dataset.inputs) {
    const versions = inputVersions[input.dataset] ?? {};
    const refs = Object.keys(versions).sort().map((partition) => ({ partition, version: versions[partition]! }));
    readers[input.alias] = inputReader(warehouse, tables.get(input.dataset)!, refs);
  }

  const table = tables.get(task.dataset)!;
  const writer = await warehouse.openVersion(table, { partition: task.partition, version });
  const hasher = new ContentHasher(table.columns);
  const schema = dataset.declaration.schema;
  const partition = partitionInfo(dataset.partitions, task.partition);
  const audit = new PartitionAudit(dataset.declaration.checks, {
    dataset: task.dataset,
    partition,
    ...(previousRows === undefined ? {} : { previous: { rowCount: previousRows } }),
  });
  let warnings: string[];
  let sourceVersion: string | undefined;
  try {
    if (dataset.declaration.sourceVersion) {
      // Observed before reading: if the data changes in between, the next plan sees a change and reads again.
      try {
        sourceVersion = `v:${String(await dataset.declaration.sourceVersion({ partition }))}`;
      } catch (error) {
        throw TaskError.fromUserCode(error, { declaration: { runProperty: "sourceVersion" } }, projectDir);
      }
    }
    let output: unknown;
    try {
      output = await dataset.declaration.run({ partition, inputs: Object.freeze(readers) });
    } catch (error) {
      throw TaskError.fromUserCode(error, dataset, projectDir);
    }
    let batch: Row[] = [];
    let index = 0;
    for await (const raw of asRows(output, dataset, projectDir)) {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw schemaViolation(index, parsed.error);
      const row = parsed.data as Row;
      hasher.add(row);
      audit.add(row, index);
      batch.push(row);
      index += 1;
      if (batch.length >= WRITE_BATCH) {
        await writer.write(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await writer.write(batch);
    warnings = await audit.finish();
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { inputs: inputVersions, rowCount: hasher.rowCount, contentHash: hasher.digest(), warnings, ...(sourceVersion ? { sourceVersion } : {}) };
}

function inputReader(warehouse: Warehouse, table: WarehouseTable, refs: readonly { partition: string; version: number }[]): InputReader<Row> {
  return Object.freeze({
    partitions: Object.freeze(refs.map((r) => r.partition)),
    async rows() {
      const all: Row[] = [];
      for await (const batch of warehouse.read(table, refs)) all.push(...batch);
      return all;
    },
    async *[Symbol.asyncIterator]() {
      for await (const batch of warehouse.read(table, refs)) yield* batch;
    },
  });
}

/** Waits `ms`; resolves false at once if the signal aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
