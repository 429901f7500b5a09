import type { CompiledProject } from "@reflow/compiler";
import { observeSourcePartitions } from "@reflow/engine";
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
  const work: { source: string; keys: string[] }[] = [];
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const built = snapshot.partitions.get(name);
    // A batched source is read `batch` partitions per call, as it is built.
    const perCall = dataset.declaration.sourceVersion ? 1 : (dataset.declaration.batch ?? 1);
    for (const key of keysOf.get(name)!) {
      const entry = built?.get(key);
      if (entry?.status !== "built" || entry.liveVersion === null || cache.has(`${name}\u0000${key}`)) continue;
      const last = work.at(-1);
      if (last?.source === name && last.keys.length < perCall) last.keys.push(key);
      else work.push({ source: name, keys: [key] });
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { source, keys } = work[next++]!;
      const versions = observeSourcePartitions(project.datasets.get(source)!, keys, project.config.projectDir);
      for (const [k, key] of keys.entries()) {
        const version = versions.then((all) => all[k]!);
        version.catch(() => {}); // awaited below, or not at all once one observation failed
        cache.set(`${source}\u0000${key}`, version);
      }
      await versions;
    }
  };
  await Promise.all(Array.from({ length: Math.min(project.config.concurrency, work.length) }, worker));
  const observed = new Map<string, Map<string, string>>();
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const built = snapshot.partitions.get(name);
    for (const key of keysOf.get(name)!) {
      const entry = built?.get(key);
      if (entry?.status !== "built" || entry.liveVersion === null) continue;
      let bySource = observed.get(name);
      if (!bySource) observed.set(name, (bySource = new Map()));
      bySource.set(key, await cache.get(`${name}\u0000${key}`)!);
    }
  }
  return observed;
}
