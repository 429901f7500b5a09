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
export async function observeSources(project: CompiledProject, snapshot: StateSnapshot, asOf: Date, cache?: ObservationCache): Promise<ObservedSources> {
  const keysOf = effectivePartitionKeys(project.datasets, project.order, asOf);
  // Without a caller's cache, each source's own map is returned as its observations (once all are strings): no copy.
  const shared = cache;
  const observations: ObservationCache = cache ?? new Map();
  const cacheOf = (source: string) => {
    let bySource = observations.get(source);
    if (!bySource) observations.set(source, (bySource = new Map()));
    return bySource;
  };
  // The keys each source needs observed, in order: a list per source, not an item per key (36,500 in the plan benchmark).
  // perCall 0: one key per sourceVersion() call.
  const work: { readonly source: string; readonly keys: readonly string[]; readonly perCall: number }[] = [];
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const built = builtKeys(snapshot, name);
    const cached = cacheOf(name);
    const keys = keysOf.get(name)!;
    const todo: string[] = [];
    for (let i = 0; i < keys.length; i++) if (built(keys[i]!) && !cached.has(keys[i]!)) todo.push(keys[i]!);
    // A batched source is read `batch` partitions per call, as it is built.
    if (todo.length > 0) work.push({ source: name, keys: todo, perCall: dataset.declaration.sourceVersion ? 0 : (dataset.declaration.batch ?? 1) });
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
  // Observes one key of a source with sourceVersion(): undefined once recorded, or the promise of recording it.
  const observeVersion = (source: string, key: string): Promise<unknown> | undefined => {
    const cached = cacheOf(source);
    // A synchronous sourceVersion() is recorded without a turn of the event loop.
    const version = observeSourceVersion(project.datasets.get(source)!, infoOf(source)(key), project.config.projectDir);
    if (typeof version === "string") {
      cached.set(key, version);
      return undefined;
    }
    version.catch(() => {}); // awaited below, or not at all once one observation failed
    cached.set(key, version);
    return version.then((observed) => cached.set(key, observed));
  };
  // Observes keys of a source read by content (at most its batch): the promise of recording them.
  const observeContent = (source: string, keys: readonly string[]): Promise<unknown> => {
    const cached = cacheOf(source);
    const versions = observeSourcePartitions(project.datasets.get(source)!, keys, project.config.projectDir, infoOf(source));
    for (const [k, key] of keys.entries()) {
      const version = versions.then((all) => all[k]!);
      version.catch(() => {}); // awaited below, or not at all once one observation failed
      cached.set(key, version);
    }
    return versions.then((all) => {
      for (const [k, key] of keys.entries()) cached.set(key, all[k]!);
    });
  };
  // The next observation: work[item].keys from position on.
  let item = 0;
  let position = 0;
  // The observations from the next on, while each is made synchronously: the promise of the first that is not, if any.
  const drain = (): Promise<unknown> | undefined => {
    while (item < work.length) {
      const { source, keys, perCall } = work[item]!;
      let pending: Promise<unknown> | undefined;
      if (perCall === 0) pending = observeVersion(source, keys[position++]!);
      else {
        const end = Math.min(position + perCall, keys.length);
        pending = observeContent(source, keys.slice(position, end));
        position = end;
      }
      if (position >= keys.length) {
        item += 1;
        position = 0;
      }
      if (pending) return pending;
    }
    return undefined;
  };
  // Each worker has at most one observation in flight.
  const worker = async () => {
    for (let pending = drain(); pending; pending = drain()) await pending;
  };
  const calls = work.reduce((count, { keys, perCall }) => count + (perCall === 0 ? keys.length : Math.ceil(keys.length / perCall)), 0);
  await Promise.all(Array.from({ length: Math.min(project.config.concurrency, calls) }, worker));
  const observed = new Map<string, ReadonlyMap<string, string>>();
  for (const name of project.order) {
    const dataset = project.datasets.get(name)!;
    if (dataset.kind !== "source" || dataset.declaration.observe === false) continue;
    const cached = cacheOf(name);
    if (!shared) {
      // Exactly the built keys, in key order, each recorded as a string once every worker finished.
      if (cached.size > 0) observed.set(name, cached as Map<string, string>);
      continue;
    }
    const built = builtKeys(snapshot, name);
    let bySource: Map<string, string> | undefined;
    for (const key of keysOf.get(name)!) {
      if (!built(key)) continue;
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
