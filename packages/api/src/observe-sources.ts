import type { CompiledProject } from "@reflow/compiler";
import { observeSourcePartition } from "@reflow/engine";
import { effectivePartitionKeys } from "@reflow/planner";
import type { StateSnapshot } from "@reflow/state";

/** Observed versions by source, then partition key. */
export type ObservedSources = ReadonlyMap<string, ReadonlyMap<string, string>>;

/**
 * Observes every built partition of every source (unless it declares
 * `observe: false`), up to `concurrency` at a time. `cache` keeps what one
 * process observed, so an apply that plans twice (preview, then under the
 * lock) reads each partition once.
 */
export async function observeSources(project: CompiledProject, snapshot: StateSnapshot, asOf: Date, cache = new Map<string, Promise<string>>()): Promise<ObservedSources> {
  const keysOf = effectivePartitionKeys(project.datasets, project.order, asOf);
  const work: { source: string; key: string }[] = [];
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const built = snapshot.partitions.get(name);
    for (const key of keysOf.get(name)!) {
      const entry = built?.get(key);
      if (entry?.status === "built" && entry.liveVersion !== null) work.push({ source: name, key });
    }
  }
  const observed = new Map<string, Map<string, string>>();
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { source, key } = work[next++]!;
      const id = `${source}\u0000${key}`;
      let version = cache.get(id);
      if (!version) cache.set(id, (version = observeSourcePartition(project.datasets.get(source)!, key, project.config.projectDir)));
      let bySource = observed.get(source);
      if (!bySource) observed.set(source, (bySource = new Map()));
      bySource.set(key, await version);
    }
  };
  await Promise.all(Array.from({ length: Math.min(project.config.concurrency, work.length) }, worker));
  return observed;
}
