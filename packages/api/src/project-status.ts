import { openStateStore, type DatasetLastRun } from "@reflow/state";
import { effectivePartitionKeys, fingerprintRanges } from "@reflow/planner";
import { planProject } from "./plan-project.js";
import type { ReflowOptions } from "./reflow-options.js";

export interface DatasetStatus {
  readonly name: string;
  readonly kind: "source" | "dataset";
  /** Partitions the dataset has at as-of. */
  readonly partitions: number;
  /** Partitions with live data (including outdated ones). */
  readonly built: number;
  /** Built partitions the current plan would rebuild (code or upstream changed, or built before complete). */
  readonly outdated: number;
  readonly failed: number;
  readonly missing: number;
  readonly failures: readonly { readonly partition: string; readonly error: string | null }[];
  /** Live partitions published despite failed "warn" checks. */
  readonly warnings: readonly { readonly partition: string; readonly messages: readonly string[] }[];
  /** The last run that had tasks of this dataset, with their outcomes. */
  readonly lastRun?: DatasetLastRun;
  /**
   * Present when live partitions were built by more than one version of the
   * dataset's code (a partial apply, a backfill, a pinned rollback): each
   * fingerprint with the runs of consecutive partitions built with it.
   */
  readonly mixedLogic?: readonly LogicVersion[];
}

/** One version of a dataset's code and the live partitions built with it. */
export interface LogicVersion {
  readonly fingerprint: string;
  /** Whether it is the fingerprint of the code as it is now. */
  readonly current: boolean;
  /** Every partition of this older version was kept by a forward-only change: plan does not rebuild them. */
  readonly accepted?: true;
  readonly partitions: number;
  readonly ranges: readonly { readonly first: string; readonly last: string; readonly count: number }[];
}

/** Per dataset: how many partitions are built, outdated, failed and missing, and the last run. */
export async function projectStatus(options: ReflowOptions = {}): Promise<DatasetStatus[]> {
  const { project, snapshot, plan } = await planProject({ ...options, completeSnapshot: true });
  const store = await openStateStore(project.config.state, "read");
  const counts = store ? await store.reader.datasetStatus().finally(() => store.close()) : new Map();
  const keysOf = effectivePartitionKeys(project.datasets, project.order, plan.asOf);
  const outdated = new Map<string, number>();
  for (const task of plan.tasks) {
    if (!task.keep && (task.reason === "code-changed" || task.reason === "upstream-changed" || task.reason === "incomplete")) outdated.set(task.dataset, (outdated.get(task.dataset) ?? 0) + 1);
  }
  return project.order.map((name) => {
    const keys = keysOf.get(name)!;
    const partitions = snapshot.partitions.get(name);
    let built = 0;
    let failed = 0;
    for (const key of keys) {
      const entry = partitions?.get(key);
      if (entry?.liveVersion != null) built += 1;
      if (entry?.status === "failed") failed += 1;
    }
    const missing = keys.filter((key) => partitions?.get(key)?.liveVersion == null).length;
    const stored = counts.get(name);
    const keySet = new Set(keys);
    const current = project.datasets.get(name)!.fingerprint;
    const logic = logicVersions(keys, (key) => partitions?.get(key)?.fingerprint ?? undefined, current).map((version) => {
      const accepted = !version.current && keys.every((key) => partitions?.get(key)?.fingerprint !== version.fingerprint || partitions.get(key)!.acceptedFingerprint === current);
      return accepted ? { ...version, accepted: true as const } : version;
    });
    return {
      name,
      kind: project.datasets.get(name)!.kind,
      partitions: keys.length,
      built,
      outdated: outdated.get(name) ?? 0,
      failed,
      missing,
      failures: (stored?.failures ?? []).filter((f: { partition: string }) => keySet.has(f.partition)),
      warnings: (stored?.warnings ?? []).filter((w: { partition: string }) => keySet.has(w.partition)),
      ...(stored?.lastRun ? { lastRun: stored.lastRun } : {}),
      ...(logic.length > 1 ? { mixedLogic: logic } : {}),
    };
  });
}

/** The fingerprints of a dataset's live partitions, each with its runs of consecutive keys (current code first). */
function logicVersions(keys: readonly string[], fingerprintOf: (key: string) => string | undefined, current: string): LogicVersion[] {
  return [...fingerprintRanges(keys, fingerprintOf)]
    .map(([fingerprint, entry]) => ({ fingerprint, current: fingerprint === current, partitions: entry.partitions, ranges: entry.ranges }))
    .sort((a, b) => Number(b.current) - Number(a.current));
}
