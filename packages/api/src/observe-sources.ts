import type { CompiledProject } from "@reflow/compiler";
import { partitionInfo, type PartitionInfo, type PartitionScheme } from "@reflow/core";
import { observeSourcePartitions, observeSourceVersion } from "@reflow/engine";
import { effectivePartitionKeys } from "@reflow/planner";
import type { StateSnapshot } from "@reflow/state";

/** Observed versions by source, then partition key. */
export type ObservedSources = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** What one process observed, by source, then partition key: the version, or the promise of it while it is read. */
export type ObservationCache = Map<string, Map<string, string | Promise<string>>>;

/**
 * Observes every built partition of every source (unless it declares
 * `observe: false`), up to `concurrency` at a time. `cache` keeps what one
 * process observed, so an apply that plans twice (preview, then under the
 * lock) reads each partition once.
 */
export async function observeSources(project: CompiledProject, snapshot: StateSnapshot, asOf: Date, cache: ObservationCache = new Map()): Promise<ObservedSources> {
  const keysOf = effectivePartitionKeys(project.datasets, project.order, asOf);
  const cacheOf = (source: string) => {
    let bySource = cache.get(source);
    if (!bySource) cache.set(source, (bySource = new Map()));
    return bySource;
  };
  const work: { source: string; keys: string[] }[] = [];
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const built = builtKeys(snapshot, name);
    const cached = cacheOf(name);
    // A batched source is read `batch` partitions per call, as it is built.
    const perCall = dataset.declaration.sourceVersion ? 1 : (dataset.declaration.batch ?? 1);
    for (const key of keysOf.get(name)!) {
      if (!built(key) || cached.has(key)) continue;
      const last = work.at(-1);
      if (last?.source === name && last.keys.length < perCall) last.keys.push(key);
      else work.push({ source: name, keys: [key] });
    }
  }
  // Sources of one scheme share each key's partition info: 100 daily sources made 36,500 of 365.
  const infosByScheme = new Map<string, (key: string) => PartitionInfo>();
  const infosBySource = new Map<string, (key: string) => PartitionInfo>();
  const infoOf = (source: string) => {
    let of = infosBySource.get(source);
    if (of) return of;
    const scheme = project.datasets.get(source)!.partitions;
    const id = JSON.stringify(scheme);
    of = infosByScheme.get(id);
    if (!of) {
      const byKey = new Map<string, PartitionInfo>();
      of = (key) => {
        let info = byKey.get(key);
        if (!info) byKey.set(key, (info = partitionInfo(scheme, key)));
        return info;
      };
      infosByScheme.set(id, of);
    }
    infosBySource.set(source, of);
    return of;
  };
  // Observes one item: undefined once recorded, or the promise of recording it.
  const observeItem = ({ source, keys }: { source: string; keys: string[] }): Promise<unknown> | undefined => {
    const dataset = project.datasets.get(source)!;
    const cached = cacheOf(source);
    if (dataset.declaration.sourceVersion) {
      // One key per item. A synchronous sourceVersion() is recorded without a turn of the event loop.
      const key = keys[0]!;
      const version = observeSourceVersion(dataset, infoOf(source)(key), project.config.projectDir);
      if (typeof version === "string") {
        cached.set(key, version);
        return undefined;
      }
      version.catch(() => {}); // awaited below, or not at all once one observation failed
      cached.set(key, version);
      return version.then((observed) => cached.set(key, observed));
    }
    const versions = observeSourcePartitions(dataset, keys, project.config.projectDir, infoOf(source));
    for (const [k, key] of keys.entries()) {
      const version = versions.then((all) => all[k]!);
      version.catch(() => {}); // awaited below, or not at all once one observation failed
      cached.set(key, version);
    }
    return versions.then((all) => {
      for (const [k, key] of keys.entries()) cached.set(key, all[k]!);
    });
  };
  let next = 0;
  // The items from `next` on, while each is observed synchronously: the promise of the first that is not, if any.
  const drain = (): Promise<unknown> | undefined => {
    while (next < work.length) {
      const pending = observeItem(work[next++]!);
      if (pending) return pending;
    }
    return undefined;
  };
  // Each worker has at most one observation in flight.
  const worker = async () => {
    for (let pending = drain(); pending; pending = drain()) await pending;
  };
  await Promise.all(Array.from({ length: Math.min(project.config.concurrency, work.length) }, worker));
  const observed = new Map<string, Map<string, string>>();
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const built = builtKeys(snapshot, name);
    const cached = cacheOf(name);
    for (const key of keysOf.get(name)!) {
      if (!built(key)) continue;
      let bySource = observed.get(name);
      if (!bySource) observed.set(name, (bySource = new Map()));
      const version = cached.get(key)!;
      bySource.set(key, typeof version === "string" ? version : await version);
    }
  }
  return observed;
}

/** Whether a source's partition is built with a live version: from the snapshot's source versions when it has them (no partition read). */
function builtKeys(snapshot: StateSnapshot, source: string): (key: string) => boolean {
  if (snapshot.liveSourceVersions) {
    const built = snapshot.liveSourceVersions(source);
    return (key) => built.has(key);
  }
  const partitions = snapshot.partitions.get(source);
  return (key) => {
    const entry = partitions?.get(key);
    return entry?.status === "built" && entry.liveVersion !== null;
  };
}
