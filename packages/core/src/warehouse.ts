import type { Row } from "./dataset-declaration.js";
import type { ColumnSpec } from "./schema-columns.js";

/** A dataset's storage as the warehouse sees it. */
export interface WarehouseTable {
  readonly dataset: string;
  readonly columns: readonly ColumnSpec[];
}

/** One stored version of one partition. Version ids are unique across the warehouse. */
export interface PartitionVersionRef {
  readonly partition: string;
  readonly version: number;
}

/**
 * One version a warehouse holds. `writing`/`written`: never published (a
 * crashed or failed run left it); `live`; `retired`: was live, kept for rollback.
 */
export interface StoredVersion extends PartitionVersionRef {
  readonly dataset: string;
  readonly state: "writing" | "written" | "live" | "retired";
  readonly rowCount: number | null;
}

/** What deleting versions freed. */
export interface FreedSpace {
  readonly rows: number;
  /** Bytes of row data and index entries the versions took. */
  readonly bytes: number;
}

/** Writes one new, not yet live, version of a partition. */
export interface VersionWriter {
  write(rows: readonly Row[]): Promise<void>;
  /** Makes the written rows durable; they are still not visible to readers. */
  finish(): Promise<void>;
  /** Deletes whatever was written. */
  abort(): Promise<void>;
}

/**
 * Storage adapter. Every partition is written as a new version that readers
 * do not see, then published atomically: readers of the dataset's table see
 * the old rows or the new ones, never a mix, never duplicates.
 *
 * Implementations: `@reflow/warehouse-sqlite` (the embedded default).
 */
export interface Warehouse {
  /** Creates or migrates the storage and the reader-facing view of a dataset. */
  prepare(table: WarehouseTable): Promise<void>;
  openVersion(table: WarehouseTable, ref: PartitionVersionRef): Promise<VersionWriter>;
  /**
   * Makes each version live for its partition, all in one atomic step. A
   * version must be finished (written, or published before: that is how a
   * rollback republishes an older one); otherwise nothing changes and it throws.
   */
  publish(dataset: string, refs: readonly PartitionVersionRef[]): Promise<void>;
  /** Rows of exactly these versions, in batches. */
  read(table: WarehouseTable, refs: readonly PartitionVersionRef[], batchSize?: number): AsyncIterable<Row[]>;
  /** The live version of every partition of a dataset. */
  liveVersions(dataset: string): Promise<Map<string, number>>;
  /** Every version held, of one dataset or of all, by dataset, partition and version. */
  storedVersions(dataset?: string): Promise<StoredVersion[]>;
  /** Deletes versions (never the live one: that throws), in one transaction. Versions it does not hold are ignored. */
  dropVersions(dataset: string, versions: readonly number[]): Promise<FreedSpace>;
  close(): Promise<void>;
}

/** What a warehouse is made from: the project configuration's `warehouse` entry. */
export interface WarehouseFactory {
  create(options: { readonly projectDir: string; readonly config: Readonly<Record<string, unknown>> }): Promise<Warehouse>;
}
