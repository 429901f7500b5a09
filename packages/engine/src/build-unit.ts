import {
  ContentHasher,
  NO_RETRIES,
  type InputReader,
  partitionInfo,
  retryDelayMs,
  type PartitionInfo,
  type Row,
  type Warehouse,
  type WarehouseTable,
} from "@reflow/core";
import type { InputVersions } from "@reflow/state";
import type { ExecutableDataset } from "./execute-plan.js";
import { buildSqlPartition } from "./build-sql-partition.js";
import { eventLoopTurnIfDue } from "./event-loop-turn.js";
import { PartitionAudit } from "./partition-audit.js";
import { inputReader } from "./input-reader.js";
import { rowValidator } from "./row-validator.js";
import { batchOutput, forEachRow } from "./transform-output.js";
import { describeTaskError, isRetryable, schemaViolation, TaskError } from "./task-error.js";

/**
 * Rows per write. Small enough that the rows held (a batch being filled, and one the warehouse
 * may hold back) stay few: with 5,000 the collector copied them over and over (more CPU, +100 MB RSS).
 */
const WRITE_BATCH = 1_000;

/**
 * One partition of a unit to build: plain data, so that a unit can be sent to
 * another process (`apply --distribute`) and built there exactly as here.
 */
export interface UnitBuild {
  /** The task id, which is the new version's id. */
  readonly taskId: number;
  readonly partition: string;
  /** The exact input versions the build reads. */
  readonly inputs: InputVersions;
  /** Row count of the live version it replaces, for checks that compare with it. */
  readonly previousRows?: number;
}

/** One version written, finished and not yet live. */
export interface BuiltVersion {
  readonly inputs: InputVersions;
  readonly rowCount: number;
  readonly contentHash: string;
  readonly warnings: string[];
  readonly sourceVersion?: string;
}

/** An attempt that failed and was retried: one message per build of the unit. */
export interface FailedAttempt {
  readonly attempt: number;
  readonly startedAt: string;
  readonly errors: readonly string[];
}

/** How building a unit ended (JSON-able): every version written, or none kept. */
export type UnitOutcome =
  | { readonly status: "built"; readonly results: readonly BuiltVersion[]; readonly attempts: number; readonly failedAttempts: readonly FailedAttempt[] }
  | { readonly status: "failed"; readonly errors: readonly string[]; readonly attempts: number; readonly failedAttempts: readonly FailedAttempt[] };

export interface BuildUnitOptions {
  readonly dataset: ExecutableDataset;
  readonly builds: readonly UnitBuild[];
  readonly tables: ReadonlyMap<string, WarehouseTable>;
  readonly warehouse: Warehouse;
  readonly projectDir: string;
  /** Aborted: no further retry (the unit fails with the last error). */
  readonly signal?: AbortSignal;
  /** Distributed builds: the claim number, fencing off the versions from earlier claimers (`Warehouse.openVersion`). */
  readonly fence?: number;
  /** Called before waiting to retry (the caller records the attempt). */
  readonly onRetry?: (attempt: FailedAttempt, attempts: number, delayMs: number) => Promise<void>;
}

/**
 * Builds a unit (one partition, or a batch of one batched dataset) with the
 * dataset's retry policy: the user's function once per attempt, each
 * partition validated, checked and written as its own new version. Never
 * throws for a failed build: the outcome says so, with each build's message.
 */
export async function buildUnit(options: BuildUnitOptions): Promise<UnitOutcome> {
  const { dataset, builds } = options;
  const policy = dataset.retries ?? NO_RETRIES;
  const failedAttempts: FailedAttempt[] = [];
  let attempt = 1;
  for (;;) {
    const startedAt = new Date();
    try {
      const results = await buildVersions(builds, dataset, options.tables, options.warehouse, options.projectDir, options.fence);
      return { status: "built", results, attempts: attempt, failedAttempts };
    } catch (error) {
      const messages = builds.map((b) => describeTaskError(error, { dataset: dataset.name, partition: b.partition }));
      if (attempt >= policy.attempts || !isRetryable(error) || options.signal?.aborted) {
        const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
        return { status: "failed", errors: messages.map((m) => `${m}${tries}`), attempts: attempt, failedAttempts };
      }
      const delayMs = retryDelayMs(policy, attempt + 1);
      const failure = { attempt, startedAt: startedAt.toISOString(), errors: messages };
      failedAttempts.push(failure);
      await options.onRetry?.(failure, policy.attempts, delayMs);
      // Ctrl-C during the wait: give up the retry, the task fails with the last error, counting the attempts that ran.
      if (!(await sleep(delayMs, options.signal))) {
        const tries = attempt > 1 ? ` (after ${attempt} attempts)` : "";
        return { status: "failed", errors: messages.map((m) => `${m}${tries}`), attempts: attempt, failedAttempts };
      }
      attempt += 1;
    }
  }
}

/**
 * Runs the user's function once for the builds (one partition, or a batch:
 * `partitions` and inputs covering all of them), then validates, checks and
 * writes each partition's rows as its own new version. If any partition
 * fails, the versions already written for the others are deleted.
 */
async function buildVersions(
  builds: readonly UnitBuild[],
  dataset: ExecutableDataset,
  tables: ReadonlyMap<string, WarehouseTable>,
  warehouse: Warehouse,
  projectDir: string,
  fence: number | undefined,
): Promise<BuiltVersion[]> {
  if (dataset.declaration.sql) {
    // SQL datasets are never batched (the declaration refuses it): one INSERT … SELECT per partition.
    const [{ taskId, partition: key, inputs: inputVersions, previousRows }] = builds as [UnitBuild];
    const partition = partitionInfo(dataset.partitions, key);
    return [await buildSqlPartition({ version: taskId, dataset, partition, inputVersions, tables, warehouse, projectDir, previousRows })];
  }
  const readers: Record<string, InputReader<Row>> = {};
  for (const input of dataset.inputs) {
    const refs = new Map<string, number>();
    for (const build of builds) for (const [partition, version] of Object.entries(build.inputs[input.dataset] ?? {})) refs.set(partition, version);
    readers[input.alias] = inputReader(warehouse, tables.get(input.dataset)!, [...refs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([partition, version]) => ({ partition, version })));
  }
  const partitions = builds.map((b) => partitionInfo(dataset.partitions, b.partition));
  const declaration = dataset.declaration;
  const sourceVersions: (string | undefined)[] = [];
  if (declaration.sourceVersion) {
    // Observed before reading: if the data changes in between, the next plan sees a change and reads again.
    for (const partition of partitions) {
      try {
        sourceVersions.push(`v:${String(await declaration.sourceVersion({ partition, projectDir }))}`);
      } catch (error) {
        throw TaskError.fromUserCode(error, { declaration: { runProperty: "sourceVersion" } }, projectDir);
      }
    }
  }
  const inputs = Object.freeze(readers);
  let outputs: readonly unknown[];
  try {
    if (declaration.batch === undefined) outputs = [await declaration.run({ partition: partitions[0]!, inputs, projectDir })];
    else {
      const keys = builds.map((b) => b.partition);
      const byKey = batchOutput(await declaration.run({ partitions: Object.freeze(partitions), inputs, projectDir }), keys, dataset);
      outputs = keys.map((key) => byKey.get(key));
    }
  } catch (error) {
    throw TaskError.fromUserCode(error, dataset, projectDir);
  }
  const written: number[] = [];
  try {
    const results: BuiltVersion[] = [];
    for (const [k, build] of builds.entries()) {
      const { rowCount, contentHash, warnings } = await writeVersion(build, partitions[k]!, outputs[k], dataset, tables.get(dataset.name)!, warehouse, projectDir, fence);
      written.push(build.taskId);
      const sourceVersion = sourceVersions[k];
      results.push({ inputs: build.inputs, rowCount, contentHash, warnings, ...(sourceVersion ? { sourceVersion } : {}) });
    }
    return results;
  } catch (error) {
    if (written.length > 0) await warehouse.dropVersions(dataset.name, written);
    // Every task of the batch records this message: say which partition broke it.
    if (builds.length > 1 && error instanceof TaskError) {
      throw new TaskError(error.code, `in partition ${builds[written.length]!.partition} of the batch ${builds[0]!.partition} … ${builds.at(-1)!.partition}: ${error.message}`, error.retryable);
    }
    throw error;
  }
}

/** Validates and checks one partition's rows while writing them as a new, not yet live, version. */
async function writeVersion(
  build: UnitBuild,
  partition: PartitionInfo,
  output: unknown,
  dataset: ExecutableDataset,
  table: WarehouseTable,
  warehouse: Warehouse,
  projectDir: string,
  fence: number | undefined,
): Promise<{ rowCount: number; contentHash: string; warnings: string[] }> {
  const { taskId, previousRows } = build;
  const writer = await warehouse.openVersion(table, { partition: build.partition, version: taskId }, fence === undefined ? undefined : { fence });
  const hasher = new ContentHasher(table.columns);
  const validate = rowValidator(dataset.declaration.schema);
  const audit = new PartitionAudit(dataset.declaration.checks, {
    dataset: dataset.name,
    partition,
    ...(previousRows === undefined ? {} : { previous: { rowCount: previousRows } }),
  });
  try {
    let batch: Row[] = [];
    let index = 0;
    // Synchronous per row; the only awaits are writing a full batch and, between batches, letting the event loop turn.
    await forEachRow(output, dataset, projectDir, (raw) => {
      const parsed = validate(raw);
      if (!parsed.success) throw schemaViolation(index, parsed.error);
      const row = parsed.data as Row;
      hasher.add(row);
      audit.add(row, index);
      batch.push(row);
      index += 1;
      if (batch.length >= WRITE_BATCH) {
        const full = batch;
        batch = [];
        const written = writer.write(full);
        const turn = eventLoopTurnIfDue();
        return turn ? written.then(() => turn) : written;
      }
    });
    if (batch.length > 0) await writer.write(batch);
    const warnings = await audit.finish();
    await writer.finish();
    return { rowCount: hasher.rowCount, contentHash: hasher.digest(), warnings };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Waits `ms`; resolves false at once if the signal aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
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
