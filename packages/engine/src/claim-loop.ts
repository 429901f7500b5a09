import type { WarehouseTable } from "@reflow/core";
import type { BuildableDataset, ClaimedUnit, RefusedUnits } from "@reflow/state";
import type { ClaimerOptions } from "./claimer-options.js";
import { buildUnit, sleep, type UnitBuild, type UnitOutcome } from "./build-unit.js";
import { describeTaskError } from "./task-error.js";
import { unitFingerprint } from "./unit-fingerprint.js";

export interface ClaimLoopOptions extends ClaimerOptions {
  /** How long an idle slot waits before looking again. */
  readonly pollMs: number;
  /** Stops claiming; units in hand are finished and reported. */
  readonly signal?: AbortSignal;
  /** Return once no live run has a unit left (ready or being built) that this process could build. */
  readonly exitWhenIdle?: boolean;
  readonly onUnit?: (report: ClaimReport) => void;
  /** Units this process's code cannot build, once per run, dataset and fingerprint. */
  readonly onRefused?: (refused: RefusedUnits) => void;
  /**
   * Errors of the queue's storage that pass (a database restarting): the loop
   * waits `retryMs` and claims again instead of ending. Absent: every error ends it.
   */
  readonly retryable?: (error: unknown) => boolean;
  /** How long to wait before trying the queue again after a retryable error (default 1 s). */
  readonly retryMs?: number;
  /** The first retryable error of an outage, then its end; a unit in hand when it began is built again elsewhere once its lease runs out. */
  readonly onStorageLost?: (error: unknown) => void;
  readonly onStorageBack?: () => void;
}

/** One unit this process claimed and built. */
export interface ClaimReport {
  readonly unit: ClaimedUnit;
  readonly builds: readonly UnitBuild[];
  readonly outcome: UnitOutcome;
  readonly ms: number;
  /** False when the claim was lost before the result was reported (the lease ran out): another claimer's result counts. */
  readonly reported: boolean;
}

/**
 * Claims units of distributed runs and builds them, `slots` at a time, until
 * stopped (or idle, with `exitWhenIdle`). Building writes finished, not yet
 * live versions into the shared warehouse and reports the outcome; the run's
 * coordinator records and publishes. A unit claimed again after a lease ran
 * out first has the earlier claimer's partial versions deleted.
 */
export async function runClaimLoop(options: ClaimLoopOptions): Promise<{ readonly built: number; readonly failed: number }> {
  const { queue, datasets, warehouse, leaseMs, signal } = options;
  const buildable: BuildableDataset[] = [...datasets.values()].map((d) => ({ dataset: d.name, fingerprint: unitFingerprint(d, datasets) }));
  const tables = new Map<string, WarehouseTable>([...datasets.values()].map((d) => [d.name, { dataset: d.name, columns: d.columns }]));
  const refusedSeen = new Set<string>();
  let built = 0;
  let failed = 0;

  const build = async (unit: ClaimedUnit): Promise<void> => {
    const dataset = datasets.get(unit.dataset)!;
    const { builds } = JSON.parse(unit.payload) as { builds: UnitBuild[] };
    const started = Date.now();
    let lost = false;
    const heartbeat = setInterval(() => {
      queue.renew(unit.id, unit.token, leaseMs).then(
        (held) => (lost ||= !held),
        () => {},
      );
    }, Math.max(100, Math.floor(leaseMs / 4)));
    let outcome: UnitOutcome;
    try {
      // An earlier claimer's lease ran out: whatever it wrote of these versions goes before they are written again.
      if (unit.claims > 1) {
        await warehouse.dropVersions(
          dataset.name,
          builds.map((b) => b.taskId),
        );
      }
      outcome = await buildUnit({ dataset, builds, tables, warehouse, projectDir: options.projectDir, fence: unit.claims, ...(signal ? { signal } : {}) });
    } catch (error) {
      outcome = { status: "failed", errors: builds.map((b) => describeTaskError(error, { dataset: dataset.name, partition: b.partition })), attempts: 1, failedAttempts: [] };
    } finally {
      clearInterval(heartbeat);
    }
    const reported = !lost && (await queue.report(unit.id, unit.token, outcome.status, JSON.stringify(outcome)));
    if (reported && outcome.status === "built") built += 1;
    if (reported && outcome.status === "failed") failed += 1;
    options.onUnit?.({ unit, builds, outcome, ms: Date.now() - started, reported });
  };

  // Shared by the slots: an outage is reported once, and its end once.
  let outage = false;
  const slot = async (index: number): Promise<void> => {
    while (!signal?.aborted) {
      try {
        const unit = await queue.claim(buildable, leaseMs);
        if (outage) {
          outage = false;
          options.onStorageBack?.();
        }
        if (unit) {
          await build(unit);
          continue;
        }
        if (index === 0 && options.onRefused) {
          for (const refused of await queue.refused(buildable)) {
            const key = `${refused.runId}\u0000${refused.dataset}\u0000${refused.fingerprint}`;
            if (refusedSeen.has(key)) continue;
            refusedSeen.add(key);
            options.onRefused(refused);
          }
        }
        if (options.exitWhenIdle && !(await queue.hasWork(buildable))) return;
        await sleep(options.pollMs, signal);
      } catch (error) {
        if (!options.retryable?.(error)) throw error;
        if (!outage) {
          outage = true;
          options.onStorageLost?.(error);
        }
        await sleep(options.retryMs ?? 1_000, signal);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.slots) }, (_, index) => slot(index)));
  return { built, failed };
}
