import type { UnitOutcome } from "./build-unit.js";
import { runClaimLoop } from "./claim-loop.js";
import type { ClaimerOptions } from "./claimer-options.js";
import type { DispatchedUnit, UnitDispatcher } from "./unit-dispatcher.js";

export interface QueueDispatcherOptions extends ClaimerOptions {
  /** How often idle slots look for units. */
  readonly claimPollMs: number;
  /** How often the coordinator collects finished units. */
  readonly resultPollMs: number;
}

/**
 * The coordinator's side of a distributed run: dispatched units go to the
 * work queue (those dispatched in the same tick in one INSERT, in order),
 * this process's own slots claim from it like any worker, and finished units
 * are collected (deleted from the queue as they are read) and handed back to
 * the engine, which records and publishes them.
 */
export function queueDispatcher(options: QueueDispatcherOptions): UnitDispatcher {
  const { queue } = options;
  let runId: number | undefined;
  let stopped = false;
  let withdrawn = false;
  const waiting = new Map<number, { resolve: (outcome: UnitOutcome | undefined) => void; reject: (error: unknown) => void }>();
  /** Reports that arrived before their unit's id was known here (a very fast claimer). */
  const early = new Map<number, UnitOutcome>();
  let buffer: { unit: DispatchedUnit; resolve: (outcome: UnitOutcome | undefined) => void; reject: (error: unknown) => void }[] = [];
  const controller = new AbortController();
  let claiming: Promise<unknown> | undefined;
  let collecting: Promise<void> | undefined;
  let failure: unknown;

  const flush = async () => {
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return;
    if (withdrawn) {
      for (const item of batch) item.resolve(undefined);
      return;
    }
    if (failure !== undefined) {
      for (const item of batch) item.reject(failure);
      return;
    }
    try {
      const ids = await queue.enqueue(
        runId!,
        batch.map(({ unit }) => ({
          dataset: unit.dataset,
          fingerprint: unit.fingerprint,
          firstTaskId: unit.builds[0]!.taskId,
          payload: JSON.stringify({ builds: unit.builds }),
        })),
      );
      // Abandoned while the units were being queued: nobody will collect them, nor should anyone claim them.
      if (failure !== undefined) {
        for (const item of batch) item.reject(failure);
        takeBackQuietly();
        return;
      }
      ids.forEach((id, k) => {
        const { resolve, reject } = batch[k]!;
        const outcome = early.get(id);
        if (outcome) {
          early.delete(id);
          resolve(outcome);
        } else waiting.set(id, { resolve, reject });
      });
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    // Withdrawn while they were being queued: take back those nobody claimed since.
    if (withdrawn) {
      await takeBackUnclaimed().catch((error: unknown) => {
        failure ??= error;
        giveUp(error);
      });
    }
  };

  const takeBackUnclaimed = async () => {
    for (const id of await queue.withdrawReady(runId!)) {
      waiting.get(id)?.resolve(undefined);
      waiting.delete(id);
    }
  };

  /** Best effort, for a run that failed: its unclaimed units leave the queue (nobody would collect them). */
  const takeBackQuietly = () => {
    if (runId !== undefined) void queue.withdrawReady(runId).catch(() => {});
  };

  const giveUp = (error: unknown) => {
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };

  const collect = async () => {
    while (!stopped) {
      if (waiting.size > 0) {
        try {
          for (const report of await queue.takeReports(runId!)) {
            const outcome = JSON.parse(report.result) as UnitOutcome;
            const waiter = waiting.get(report.id);
            if (waiter) {
              waiting.delete(report.id);
              waiter.resolve(outcome);
            } else early.set(report.id, outcome);
          }
        } catch (error) {
          // Lost contact with the state: the apply fails as it would on a failed state write (the next apply settles the run).
          failure = error;
          giveUp(error);
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, options.resultPollMs));
    }
  };

  return {
    async start(id) {
      runId = id;
      await queue.clearEndedRuns();
      claiming = runClaimLoop({
        queue,
        datasets: options.datasets,
        warehouse: options.warehouse,
        projectDir: options.projectDir,
        slots: options.slots,
        leaseMs: options.leaseMs,
        pollMs: options.claimPollMs,
        signal: controller.signal,
      }).catch((error: unknown) => {
        failure ??= error;
        giveUp(error);
      });
      collecting = collect();
    },
    dispatch(unit) {
      if (failure !== undefined) return Promise.reject(failure);
      if (withdrawn) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        if (buffer.length === 0) setImmediate(() => void flush());
        buffer.push({ unit, resolve, reject });
      });
    },
    async withdraw() {
      withdrawn = true;
      if (runId === undefined) return;
      await takeBackUnclaimed();
    },
    abandon(error) {
      failure ??= error;
      const queued = buffer;
      buffer = [];
      for (const item of queued) item.reject(failure);
      giveUp(failure);
      // This process's own slots claim no more (and skip retries); the units nobody claimed leave the queue.
      controller.abort();
      takeBackQuietly();
    },
    async stop() {
      stopped = true;
      controller.abort();
      await Promise.all([claiming, collecting]);
    },
  };
}
