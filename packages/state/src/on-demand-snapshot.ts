import type Database from "better-sqlite3";
import { DATASET_NAMES_SQL, readDatasetSummaries } from "./dataset-summaries.js";
import type { DatasetState, DatasetSummaries, DatasetSummary, InputVersions, PartitionRollback, PartitionState, StateSnapshot } from "./state-snapshot.js";

/** The newest rollback of each partition, by `partitionId`. */
export type ActiveRollbacks = ReadonlyMap<string, { readonly version: number; readonly mark: PartitionRollback }>;

/** partition, failed (1), live task, its fingerprint, the inputs it read (or was checked with), rows, content hash, source version, incomplete (1), its run, accepted fingerprint. */
export type SnapshotRow = [string, 0 | 1, number | null, string | null, string | null, number | null, string | null, string | null, number | null, number | null, string | null];

export const SNAPSHOT_SQL = `select p.partition, p.status = 'failed', p.live_task_id, t.fingerprint, coalesce(i.inputs, t.inputs), t.row_count, t.content_hash,
    t.source_version, t.incomplete, t.run_id, p.accepted_fingerprint
  from partitions p left join tasks t on t.id = p.live_task_id left join tasks i on i.id = p.inputs_task_id
  where p.dataset = ?`;

/** partition, failed (1), live task, its fingerprint, rows, source version, incomplete (1), its run, accepted fingerprint. */
type PartitionRow = [string, 0 | 1, number | null, string | null, number | null, string | null, number | null, number | null, string | null];

// What deciding a partition's reason needs, without the recorded inputs and content hash (see `Details`).
const PARTITIONS_SQL = `select p.partition, p.status = 'failed', p.live_task_id, t.fingerprint, t.row_count, t.source_version, t.incomplete, t.run_id, p.accepted_fingerprint
  from partitions p left join tasks t on t.id = p.live_task_id
  where p.dataset = ?`;

/** partition, the source version its live version was read at. */
type SourceVersionRow = [string, string | null];

// The partitions `PartitionState` calls built (not failed) with a live version, as `readPartitions` would read them.
const SOURCE_VERSIONS_SQL = `select p.partition, t.source_version
  from partitions p left join tasks t on t.id = p.live_task_id
  where p.dataset = ? and p.status <> 'failed' and p.live_task_id is not null`;

// The same partitions' keys alone: no lookup of the live task per row (50 datasets of 365 keys: ~4 ms against ~10).
const LIVE_KEYS_SQL = `select p.partition from partitions p
  where p.dataset = ? and p.status <> 'failed' and p.live_task_id is not null`;

/** partition, the inputs it read (or was checked with), content hash. */
type DetailRow = [string, string | null, string | null];

const DETAILS_SQL = `select p.partition, coalesce(i.inputs, t.inputs), t.content_hash
  from partitions p left join tasks t on t.id = p.live_task_id left join tasks i on i.id = p.inputs_task_id
  where p.dataset = ?`;

/** Most recorded inputs are empty (every source partition): one shared object for those. */
const NO_INPUTS: InputVersions = Object.freeze({});

export function parseInputs(json: string | null): InputVersions {
  return json && json !== "{}" ? (JSON.parse(json) as InputVersions) : NO_INPUTS;
}

export function partitionId(dataset: string, partition: string): string {
  return `${dataset}\u0000${partition}`;
}

export interface OnDemandOptions {
  /**
   * Read a dataset's recorded inputs and content hashes only when one is
   * first asked for, rather than with its partitions. Only where nothing
   * writes the state meanwhile (a plan): `apply` reads them before its run
   * records anything.
   */
  readonly deferDetails?: boolean;
}

/**
 * A SQLite snapshot that reads each dataset's partitions when first asked
 * for them (statements prepared once), and reads every dataset's summary
 * (stored, see `dataset-summaries.ts`) when a summary is first asked for: a
 * plan after a small edit then reads the partitions of the datasets it plans,
 * not of every dataset (365,000 rows in the plan benchmark). Reading after the
 * connection closed is a bug and throws.
 */
export function onDemandSnapshot(
  database: Database.Database,
  datasets: ReadonlyMap<string, DatasetState>,
  rollbacks: ActiveRollbacks,
  options: OnDemandOptions = {},
): StateSnapshot {
  const statements = {
    datasets: database.prepare(DATASET_NAMES_SQL).pluck(),
    partitions: database.prepare(PARTITIONS_SQL).raw(true),
    details: database.prepare(DETAILS_SQL).raw(true),
    sourceVersions: database.prepare(SOURCE_VERSIONS_SQL).raw(true),
    liveKeys: database.prepare(LIVE_KEYS_SQL).pluck(),
  };
  const rollbackCounts = new Map<string, number>();
  for (const id of rollbacks.keys()) {
    const dataset = id.slice(0, id.indexOf("\u0000"));
    rollbackCounts.set(dataset, (rollbackCounts.get(dataset) ?? 0) + 1);
  }
  const open = (what: string) => {
    if (!database.open) throw new Error(`internal error: the state snapshot read ${what} after the state store was closed`);
  };
  const names = statements.datasets.all() as string[];
  const partitions = new OnDemandPartitions(names, (dataset) => {
    open(`the partitions of ${dataset}`);
    const details = new Details(() => {
      open(`the recorded inputs of ${dataset}`);
      return statements.details.all(dataset) as DetailRow[];
    });
    if (!options.deferDetails) details.of("");
    return readPartitions(statements.partitions, dataset, rollbacks, details);
  });
  let summaryCache: Map<string, DatasetSummary> | undefined;
  const summaries: DatasetSummaries = {
    get(dataset) {
      if (!summaryCache) {
        open(`the summary of ${dataset}`);
        summaryCache = new Map();
        for (const [name, count, clean, firstKey, lastKey, minFingerprint, maxFingerprint, oldestChecked, newestLive] of readDatasetSummaries(database, names)) {
          summaryCache.set(
            name,
            Object.freeze({
              partitions: count,
              clean,
              firstKey,
              lastKey,
              fingerprint: minFingerprint !== null && minFingerprint === maxFingerprint ? minFingerprint : null,
              oldestChecked,
              newestLive,
              rollbacks: rollbackCounts.get(name) ?? 0,
            }),
          );
        }
      }
      // A dataset without partition rows has no summary.
      return summaryCache.get(dataset);
    },
  };
  const sourceVersionCache = new Map<string, ReadonlyMap<string, string | null>>();
  const liveSourceVersions = (dataset: string): ReadonlyMap<string, string | null> => {
    let versions = sourceVersionCache.get(dataset);
    if (versions) return versions;
    // Partitions read already say it; otherwise two columns of the built ones, not every partition's state.
    const read = partitions.loadedOf(dataset);
    if (read) {
      const built = new Map<string, string | null>();
      for (const [key, partition] of read) if (partition.status === "built" && partition.liveVersion !== null) built.set(key, partition.sourceVersion ?? null);
      versions = built;
    } else {
      open(`the source versions of ${dataset}`);
      versions = new Map(statements.sourceVersions.all(dataset) as SourceVersionRow[]);
    }
    sourceVersionCache.set(dataset, versions);
    return versions;
  };
  const liveKeys = (dataset: string): ReadonlySet<string> => {
    // What is read already says it; otherwise one column of the built partitions.
    const known = sourceVersionCache.get(dataset);
    if (known) return new Set(known.keys());
    if (partitions.loadedOf(dataset)) return new Set(liveSourceVersions(dataset).keys());
    open(`the live partitions of ${dataset}`);
    return new Set(statements.liveKeys.all(dataset) as string[]);
  };
  return { datasets, partitions, summaries, liveSourceVersions, liveKeys };
}

/** The partitions of each dataset, read on first `get`; iterating reads them all. */
class OnDemandPartitions implements ReadonlyMap<string, ReadonlyMap<string, PartitionState>> {
  private readonly loaded = new Map<string, ReadonlyMap<string, PartitionState>>();
  private readonly names: ReadonlySet<string>;

  constructor(
    names: readonly string[],
    private readonly load: (dataset: string) => ReadonlyMap<string, PartitionState>,
  ) {
    this.names = new Set(names);
  }

  get size(): number {
    return this.names.size;
  }

  has(dataset: string): boolean {
    return this.names.has(dataset);
  }

  /** A dataset's partitions if they were read already. */
  loadedOf(dataset: string): ReadonlyMap<string, PartitionState> | undefined {
    return this.loaded.get(dataset);
  }

  get(dataset: string): ReadonlyMap<string, PartitionState> | undefined {
    if (!this.names.has(dataset)) return undefined;
    let partitions = this.loaded.get(dataset);
    if (!partitions) this.loaded.set(dataset, (partitions = this.load(dataset)));
    return partitions;
  }

  *entries(): MapIterator<[string, ReadonlyMap<string, PartitionState>]> {
    for (const name of this.names) yield [name, this.get(name)!];
  }

  *keys(): MapIterator<string> {
    yield* this.names;
  }

  *values(): MapIterator<ReadonlyMap<string, PartitionState>> {
    for (const name of this.names) yield this.get(name)!;
  }

  forEach(callback: (value: ReadonlyMap<string, PartitionState>, key: string, map: ReadonlyMap<string, ReadonlyMap<string, PartitionState>>) => void, thisArg?: unknown): void {
    for (const [name, partitions] of this.entries()) callback.call(thisArg, partitions, name, this);
  }

  [Symbol.iterator](): MapIterator<[string, ReadonlyMap<string, PartitionState>]> {
    return this.entries();
  }
}

/**
 * One dataset's recorded inputs and content hashes, read with a second query
 * the first time any partition's is asked for: a plan after an edit decides
 * most partitions (code-changed, or reading a planned input) without them.
 */
class Details {
  private byKey: Map<string, DetailRow> | undefined;

  constructor(private readonly read: () => DetailRow[]) {}

  of(partition: string): DetailRow | undefined {
    if (!this.byKey) this.byKey = new Map(this.read().map((row) => [row[0], row]));
    return this.byKey.get(partition);
  }
}

/** One dataset's partitions, sharing its few fingerprints. */
function readPartitions(statement: Database.Statement, dataset: string, rollbacks: ActiveRollbacks, details: Details): Map<string, PartitionState> {
  const byKey = new Map<string, PartitionState>();
  const fingerprints = new Map<string, string>();
  for (const row of statement.all(dataset) as PartitionRow[]) {
    const recorded = row[3];
    if (recorded !== null) {
      const shared = fingerprints.get(recorded);
      if (shared === undefined) fingerprints.set(recorded, recorded);
      else row[3] = shared;
    }
    const rollback = rollbacks.size > 0 ? rollbacks.get(partitionId(dataset, row[0])) : undefined;
    byKey.set(row[0], new StoredPartitionState(row, details, rollback && rollback.version === row[2] ? rollback.mark : undefined));
  }
  return byKey;
}

/** A partition's state read from SQLite; `inputs` and `contentHash` are read and parsed on first access. */
class StoredPartitionState implements PartitionState {
  readonly status: "built" | "failed";
  readonly liveVersion: number | null;
  readonly fingerprint: string | null;
  readonly rowCount: number | null;
  declare readonly sourceVersion?: string;
  declare readonly incomplete?: boolean;
  declare readonly liveRun?: number;
  declare readonly acceptedFingerprint?: string;
  declare readonly rollback?: PartitionRollback;
  private readonly key: string;
  private parsed: InputVersions | undefined;

  constructor(
    row: PartitionRow,
    private readonly details: Details,
    rollback: PartitionRollback | undefined,
  ) {
    const [key, failed, liveVersion, fingerprint, rowCount, sourceVersion, incomplete, liveRun, acceptedFingerprint] = row;
    this.key = key;
    this.status = failed === 1 ? "failed" : "built";
    this.liveVersion = liveVersion;
    this.fingerprint = fingerprint;
    this.rowCount = rowCount;
    const self = this as { -readonly [K in keyof StoredPartitionState]?: unknown };
    if (sourceVersion !== null) self.sourceVersion = sourceVersion;
    if (incomplete === 1) self.incomplete = true;
    if (liveRun !== null) self.liveRun = liveRun;
    if (acceptedFingerprint !== null) self.acceptedFingerprint = acceptedFingerprint;
    if (rollback) self.rollback = rollback;
  }

  get inputs(): InputVersions {
    return (this.parsed ??= parseInputs(this.details.of(this.key)?.[1] ?? null));
  }

  get contentHash(): string | null {
    return this.details.of(this.key)?.[2] ?? null;
  }
}
