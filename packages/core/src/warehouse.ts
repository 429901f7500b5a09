import type { AliasableExpression, AliasedExpression, Kysely } from "kysely";
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

export interface VersionWriteOptions {
  readonly fence?: number;
}

/** Writes one new, not yet live, version of a partition. */
export interface VersionWriter {
  /** The writer may keep `rows` until the next call (to write them with what follows): do not change them afterwards. */
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
 * Implementations: `@reflow/warehouse-sqlite` (the embedded default), `@reflow/warehouse-postgres`.
 */
export interface Warehouse {
  /** Present when the warehouse can run SQL transforms (`dataset({ sql })`) itself. */
  readonly sql?: SqlWarehouse;
  /** Creates or migrates the storage and the reader-facing view of a dataset. */
  prepare(table: WarehouseTable): Promise<void>;
  /**
   * `fence` (distributed runs: the claim number of the unit being built): a
   * writer with a higher fence takes the version over (what an earlier writer
   * wrote is deleted), and from then on every write, `finish` and `abort` of a
   * writer with a lower fence fails without touching it. Warehouses that are
   * never shared between processes may ignore it.
   */
  openVersion(table: WarehouseTable, ref: PartitionVersionRef, options?: VersionWriteOptions): Promise<VersionWriter>;
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

/** What writing a version from a query produced, computed in the warehouse. */
export interface WrittenVersion {
  readonly rowCount: number;
  /** The same digest `ContentHasher` gives over the rows `read` returns for the version. */
  readonly contentHash: string;
}

/**
 * The part of a warehouse that runs SQL transforms where the data is. Queries
 * are kysely expressions built with `db`, so each dialect compiles them itself;
 * nothing here is specific to one database.
 */
export interface SqlWarehouse {
  /** A query builder of the warehouse's dialect. Used to build and compile queries only: they run through the methods below. */
  readonly db: Kysely<{}>;
  /**
   * The rows of exactly these versions of a dataset as a table expression named
   * `alias`, with the dataset's columns as stored (booleans and JSON as the dialect stores them).
   */
  versionsOf(table: WarehouseTable, refs: readonly PartitionVersionRef[], alias: string): AliasedExpression<Row, string>;
  /**
   * Writes the rows `query` returns as a new, not yet live, version in one
   * `INSERT … SELECT` (no row passes through Node), then checks them against
   * `table.columns`: every column the query returns is one of them, every
   * required one is returned, and stored values have the column's type and are
   * not null where the schema requires a value. A mismatch throws a
   * `REFLOW_SCHEMA_MISMATCH` ReflowError naming the column, and nothing is kept.
   */
  writeVersion(table: WarehouseTable, ref: PartitionVersionRef, query: AliasableExpression<unknown>): Promise<WrittenVersion>;
  /** Runs a read-only query built with `db` and returns its rows as the database gives them. */
  select<R = Row>(query: AliasableExpression<R>): Promise<R[]>;
}

/** What a warehouse is made from: the project configuration's `warehouse` entry. */
export interface WarehouseFactory {
  create(options: { readonly projectDir: string; readonly config: Readonly<Record<string, unknown>> }): Promise<Warehouse>;
}
