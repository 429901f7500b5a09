import { compileProject, loadProjectConfig, type CompiledDataset } from "@reflow/compiler";
import { partitionRange, ReflowError, UNPARTITIONED_KEY } from "@reflow/core";
import type { PartitionVersionRecord, ReconcileResult } from "@reflow/state";
import { checkPartitionRange, declaredDataset } from "./declared-dataset.js";
import { keptVersions } from "./kept-versions.js";
import type { ReflowOptions, WriterLockOptions } from "./reflow-options.js";
import { withStorageView, type StorageView } from "./storage-view.js";
import { waitUntilUnlocked } from "./wait-until-unlocked.js";
import { withWriterLock } from "./with-writer-lock.js";

export interface RollbackOptions extends ReflowOptions, WriterLockOptions {
  readonly dataset: string;
  /** First partition key to roll back (default: the first built). */
  readonly from?: string;
  /** Last partition key to roll back, inclusive (default: the last built). */
  readonly to?: string;
  /** Republish the versions that were live before this run, instead of each partition's previous version. */
  readonly toRun?: number;
  /** Record a pin: plan leaves the rolled-back partitions alone while the code is unchanged. */
  readonly pin?: boolean;
  /** Asked with what will be republished, before anything is written; false cancels. Absent: roll back without asking. */
  readonly confirm?: (rollback: RollbackPlan) => Promise<boolean>;
  /** Recorded with the run and the lock. */
  readonly command?: string;
}

/** One partition a rollback republishes. */
export interface RollbackStep {
  readonly partition: string;
  /** The version live now. */
  readonly fromVersion: number;
  /** The kept version made live again. */
  readonly toVersion: number;
  /** The run that built `toVersion`. */
  readonly toRunId: number;
  readonly rows: number;
}

export interface RollbackPlan {
  readonly dataset: string;
  readonly pin: boolean;
  readonly toRun?: number;
  /** By partition key. */
  readonly steps: readonly RollbackStep[];
  /** Selected partitions already at the version asked for (`toRun`): left alone. */
  readonly unchanged: number;
}

export interface RollbackOutcome {
  readonly plan: RollbackPlan;
  /** The rollback run; absent when nothing was to be done or the user declined. */
  readonly runId?: number;
  readonly declined?: boolean;
  /** Runs a dead process had left unfinished, settled first. */
  readonly reconciled?: ReconcileResult;
}

/**
 * Republishes earlier versions of a dataset's partitions in one atomic
 * warehouse publish, and records it as a run. The next plan then rebuilds
 * what reads them (upstream-changed) and, while the code is unchanged, the
 * partitions themselves (code-changed), unless they are pinned.
 *
 * Like apply, everything that can refuse is decided on a read-only view
 * first, so a refusal leaves state and warehouse as they were; the writer
 * lock is then held while the rollback is planned again and performed.
 */
export async function rollbackDataset(options: RollbackOptions): Promise<RollbackOutcome> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const dataset = declaredDataset(project, options.dataset);
  checkPartitionRange(dataset, options.from, options.to);
  const config = project.config;
  await waitUntilUnlocked(config.state, options.waitMs ?? 0);
  const preview = await withStorageView(config, (view) => planRollback(view, dataset, options));
  if (preview.steps.length === 0) return { plan: preview };
  if (options.confirm && !(await options.confirm(preview))) return { plan: preview, declined: true };

  const command = options.command ?? `rollback ${dataset.name}`;
  return withWriterLock(config, command, async (session) => {
    const reconciled = session.reconciled.runs.length > 0 ? { reconciled: session.reconciled } : {};
    const plan = await planRollback(session, dataset, options);
    if (JSON.stringify(plan) !== JSON.stringify(preview)) {
      // Settling a crashed run legitimately changes what is live: show it and ask again.
      if (!reconciled.reconciled) {
        throw new ReflowError(
          "REFLOW_STATE_CHANGED",
          "the state changed while the rollback was shown (another apply ran?); nothing was rolled back. Run `reflow rollback` again",
        );
      }
      if (plan.steps.length === 0) return { plan, ...reconciled };
      if (options.confirm && !(await options.confirm(plan))) return { plan, declined: true, ...reconciled };
    }
    // Record, publish, confirm: a crash between two steps is settled by the next writer's reconcile.
    const runId = await session.writer.beginRollback(
      command,
      plan.steps.map((s) => ({
        dataset: dataset.name,
        partition: s.partition,
        fromVersion: s.fromVersion,
        toVersion: s.toVersion,
        codeFingerprint: dataset.fingerprint,
        pinned: plan.pin,
      })),
    );
    await session.warehouse.publish(
      dataset.name,
      plan.steps.map((s) => ({ partition: s.partition, version: s.toVersion })),
    );
    await session.writer.rollbackPublished(runId);
    return { plan, runId, ...reconciled };
  }, options.waitMs);
}

/** What a rollback would republish, or the refusal, from one view of state and warehouse. */
async function planRollback(view: StorageView | undefined, dataset: CompiledDataset, options: RollbackOptions): Promise<RollbackPlan> {
  const name = dataset.name;
  if (options.toRun !== undefined && !(view && (await view.state.run(options.toRun)))) {
    const last = view ? (await view.state.runs(1))[0] : undefined;
    throw new ReflowError("REFLOW_UNKNOWN_RUN", `there is no run #${options.toRun}${last ? ` (the last is #${last.id})` : " (nothing was ever applied)"}`);
  }
  const kept = view ? await keptVersions(view, name) : [];
  const inRange = partitionRange(dataset.partitions, options.from, options.to);
  const live = kept.filter((v) => v.live && inRange(v.partition));
  if (live.length === 0) {
    if (options.from !== undefined || options.to !== undefined) {
      throw new ReflowError("REFLOW_UNKNOWN_PARTITION", `${name} has no built partition ${describeRange(options.from, options.to)}; nothing was rolled back`, {
        subject: name,
      });
    }
    throw new ReflowError("REFLOW_NO_PREVIOUS_VERSION", `${name} has no built partition to roll back`, { subject: name });
  }
  const liveBefore = options.toRun !== undefined ? await view!.state.liveBeforeRun(name, options.toRun) : undefined;
  const steps: RollbackStep[] = [];
  const noEarlier: string[] = [];
  const deleted: string[] = [];
  let unchanged = 0;
  for (const current of live) {
    const versions = kept.filter((v) => v.partition === current.partition);
    let target: PartitionVersionRecord | undefined;
    if (liveBefore) {
      const wanted = liveBefore.get(current.partition);
      if (wanted === undefined) {
        noEarlier.push(current.partition);
        continue;
      }
      if (wanted === current.version) {
        unchanged += 1;
        continue;
      }
      target = versions.find((v) => v.version === wanted);
      if (!target) deleted.push(current.partition);
    } else {
      // Versions are newest first: the first older than the live one is the previous.
      target = versions.find((v) => v.version < current.version);
      if (!target) noEarlier.push(current.partition);
    }
    if (target) steps.push({ partition: current.partition, fromVersion: current.version, toVersion: target.version, toRunId: target.runId, rows: target.rows });
  }
  if (noEarlier.length > 0) {
    throw new ReflowError(
      "REFLOW_NO_PREVIOUS_VERSION",
      liveBefore
        ? `${describePartitions(name, noEarlier)} had no version before run #${options.toRun}; nothing was rolled back (choose partitions with --from/--to)`
        : `no earlier version of ${describePartitions(name, noEarlier)} is kept; nothing was rolled back`,
      { subject: name },
    );
  }
  if (deleted.length > 0) {
    throw new ReflowError(
      "REFLOW_NO_PREVIOUS_VERSION",
      `the version of ${describePartitions(name, deleted)} live before run #${options.toRun} was deleted by \`reflow gc\`; nothing was rolled back`,
      { subject: name },
    );
  }
  return { dataset: name, pin: options.pin === true, ...(options.toRun !== undefined ? { toRun: options.toRun } : {}), steps, unchanged };
}

function describeRange(from: string | undefined, to: string | undefined): string {
  if (from !== undefined && to !== undefined) return from === to ? `${from}` : `from ${from} to ${to}`;
  return from !== undefined ? `from ${from} on` : `up to ${to}`;
}

const LISTED = 10;

/** `revenue 2024-01-04, 2024-01-05`, `revenue_total (unpartitioned)`; long lists are cut. */
function describePartitions(dataset: string, keys: readonly string[]): string {
  if (keys.length === 1 && keys[0] === UNPARTITIONED_KEY) return `${dataset} (unpartitioned)`;
  const shown = keys.slice(0, LISTED).join(", ");
  return `${dataset} ${shown}${keys.length > LISTED ? ` and ${keys.length - LISTED} more` : ""}`;
}
