/** The versions of input partitions a partition version was built from: `{ dataset: { partition: version } }`. */
export type InputVersions = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** What the state knows about one partition. */
export interface PartitionState {
  readonly status: "built" | "failed";
  /** Version (task id) whose rows are live, or null if no attempt ever succeeded. */
  readonly liveVersion: number | null;
  /** Fingerprint the live version was built with. */
  readonly fingerprint: string | null;
  readonly inputs: InputVersions;
  /** Rows of the live version (null if none). */
  readonly rowCount?: number | null;
  /** Content hash of the live version (null if none). */
  readonly contentHash?: string | null;
  /** Sources with `sourceVersion()`: the version the live version was read at. */
  readonly sourceVersion?: string | null;
  /** The live version was built before the partition was complete (`--include-incomplete`). */
  readonly incomplete?: boolean;
  /** The run that built the live version. */
  readonly liveRun?: number;
  /** Forward-only: the dataset fingerprint under which the live version, built with older code, is accepted as up to date. */
  readonly acceptedFingerprint?: string;
  /** Present when the live version was put back by `reflow rollback`. */
  readonly rollback?: PartitionRollback;
}

/** How a rolled-back partition's live version got there. */
export interface PartitionRollback {
  readonly runId: number;
  /** The dataset's fingerprint at the rollback: the mark holds while the code still has it. */
  readonly codeFingerprint: string;
  /** Plan leaves a pinned partition alone while the code is unchanged. */
  readonly pinned: boolean;
}

export interface DatasetState {
  readonly name: string;
  readonly kind: string;
  readonly fingerprint: string;
  /** Canonical JSON of the applied metadata; absent if never recorded. */
  readonly metadata?: string;
}

/**
 * Aggregates over one dataset's partitions, enough for the planner to tell
 * that the dataset is up to date without reading its partitions.
 */
export interface DatasetSummary {
  /** Partition rows. */
  readonly partitions: number;
  /** Of those: built, with a live version, complete, and not accepted under another fingerprint. */
  readonly clean: number;
  /** Smallest and largest partition key (binary string order). */
  readonly firstKey: string;
  readonly lastKey: string;
  /** The fingerprint of every live version when they all share one, else null. */
  readonly fingerprint: string | null;
  /** Smallest id of the task whose recorded inputs each partition holds (the live version, or the task that checked it since). */
  readonly oldestChecked: number | null;
  /** Largest live version id. */
  readonly newestLive: number | null;
  /** Partitions with a succeeded rollback on record (a rollback can make an older version live). */
  readonly rollbacks: number;
}

/** Summaries by dataset, computed when first asked for. */
export interface DatasetSummaries {
  get(dataset: string): DatasetSummary | undefined;
}

/**
 * Everything the planner needs from state. Plain data, except that an
 * on-demand snapshot (`StateReader.snapshot({ onDemand: true })`, SQLite)
 * reads a dataset's partitions when `partitions` is first asked for them,
 * and offers `summaries`, so a plan reads only the datasets it cannot rule out.
 */
export interface StateSnapshot {
  readonly datasets: ReadonlyMap<string, DatasetState>;
  readonly partitions: ReadonlyMap<string, ReadonlyMap<string, PartitionState>>;
  readonly summaries?: DatasetSummaries;
  /**
   * The keys of a dataset's partitions that are built with a live version,
   * each with the source version its live version was read at (null: none
   * recorded), without reading the partitions: what observing a source needs
   * (on-demand SQLite snapshots; otherwise read from `partitions`).
   */
  readonly liveSourceVersions?: (dataset: string) => ReadonlyMap<string, string | null>;
  /**
   * The keys of `liveSourceVersions`, without the source versions (no lookup
   * of the live task): what planning a code change from its live keys needs.
   */
  readonly liveKeys?: (dataset: string) => ReadonlySet<string>;
}

export const EMPTY_STATE: StateSnapshot = Object.freeze({ datasets: new Map(), partitions: new Map() });
