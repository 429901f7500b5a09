import { compileProject, loadProjectConfig } from "@reflow/compiler";
import { ReflowError, type StoredVersion } from "@reflow/core";
import type { ReconcileResult } from "@reflow/state";
import type { ReflowOptions, WriterLockOptions } from "./reflow-options.js";
import { retainedVersions, retentionOf, type Retention } from "./retention.js";
import { withStorageView, type StorageView } from "./storage-view.js";
import { versionsPastRetention } from "./versions-past-retention.js";
import { waitUntilUnlocked } from "./wait-until-unlocked.js";
import { withWriterLock } from "./with-writer-lock.js";

export interface GcOptions extends ReflowOptions, WriterLockOptions {
  /** Asked with the versions to delete, before anything is written; false cancels. Absent: delete without asking. */
  readonly confirm?: (plan: GcPlan) => Promise<boolean>;
  /** Recorded with the lock. */
  readonly command?: string;
}

/** One version gc deletes. */
export interface GcVersion {
  readonly dataset: string;
  readonly partition: string;
  readonly version: number;
  /** `past-retention`: published once, older than `retainVersions` keeps; `abandoned`: written by a run that stopped, never published. */
  readonly reason: "past-retention" | "abandoned";
  /** The run that wrote it, when the state knows it. */
  readonly runId?: number;
  /** Rows it holds; absent for a version whose writing never finished. */
  readonly rows?: number;
}

export interface GcPlan extends Retention {
  /** By dataset, partition and version. */
  readonly versions: readonly GcVersion[];
}

export interface GcOutcome {
  readonly plan: GcPlan;
  /** What was deleted; absent when there was nothing to delete or the user declined. */
  readonly freed?: { readonly versions: number; readonly rows: number; readonly bytes: number };
  readonly declined?: boolean;
  readonly reconciled?: ReconcileResult;
}

/**
 * `reflow gc`: deletes every version older than retention allows (never a
 * live one) and every version a stopped run wrote but never published, from
 * the warehouse, and records the deletions in the state. Decided on a
 * read-only view first and again under the writer lock, as apply does.
 */
export async function collectGarbage(options: GcOptions = {}): Promise<GcOutcome> {
  // Compiled for the datasets' own retainVersions.
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const config = project.config;
  const retention = retentionOf(project);
  await waitUntilUnlocked(config.state, options.waitMs ?? 0);
  const preview = await withStorageView(config, (view) => planGc(view, retention));
  if (preview.versions.length === 0) return { plan: preview };
  if (options.confirm && !(await options.confirm(preview))) return { plan: preview, declined: true };

  return withWriterLock(config, options.command ?? "gc", async (session) => {
    const reconciled = session.reconciled.runs.length > 0 ? { reconciled: session.reconciled } : {};
    const plan = await planGc(session, retention);
    if (JSON.stringify(plan) !== JSON.stringify(preview)) {
      if (!reconciled.reconciled) {
        throw new ReflowError("REFLOW_STATE_CHANGED", "the state changed while the versions to delete were shown (another apply ran?); nothing was deleted. Run `reflow gc` again");
      }
      if (plan.versions.length === 0) return { plan, ...reconciled };
      if (options.confirm && !(await options.confirm(plan))) return { plan, declined: true, ...reconciled };
    }
    // Warehouse first: a crash in between leaves the state naming versions that
    // are gone, which history and rollback already skip (they need both stores).
    let rows = 0;
    let bytes = 0;
    for (const dataset of new Set(plan.versions.map((v) => v.dataset))) {
      const freed = await session.warehouse.dropVersions(
        dataset,
        plan.versions.filter((v) => v.dataset === dataset).map((v) => v.version),
      );
      rows += freed.rows;
      bytes += freed.bytes;
    }
    await session.writer.versionsPurged(plan.versions.map((v) => v.version));
    return { plan, freed: { versions: plan.versions.length, rows, bytes }, ...reconciled };
  }, options.waitMs);
}

async function planGc(view: StorageView | undefined, retention: Retention): Promise<GcPlan> {
  if (!view) return { ...retention, versions: [] };
  const stored = await view.warehouse.storedVersions();
  const byPartition = new Map<string, StoredVersion[]>();
  for (const v of stored) {
    const key = `${v.dataset}\u0000${v.partition}`;
    byPartition.set(key, [...(byPartition.get(key) ?? []), v]);
  }
  const doomed: { stored: StoredVersion; reason: GcVersion["reason"] }[] = [];
  for (const versions of byPartition.values()) {
    const published = versions.filter((v) => v.state === "live" || v.state === "retired");
    const expired = versionsPastRetention(
      published.map((v) => ({ version: v.version, live: v.state === "live" })),
      retainedVersions(retention, versions[0]!.dataset),
    );
    for (const v of versions) {
      if (expired.has(v.version)) doomed.push({ stored: v, reason: "past-retention" });
      else if (v.state === "writing" || v.state === "written") doomed.push({ stored: v, reason: "abandoned" });
    }
  }
  const runs = await view.state.versionRuns(doomed.map((d) => d.stored.version));
  const versions = doomed.map(({ stored: v, reason }): GcVersion => {
    const runId = runs.get(v.version);
    return {
      dataset: v.dataset,
      partition: v.partition,
      version: v.version,
      reason,
      ...(runId !== undefined ? { runId } : {}),
      ...(v.rowCount !== null ? { rows: v.rowCount } : {}),
    };
  });
  return { ...retention, versions };
}
