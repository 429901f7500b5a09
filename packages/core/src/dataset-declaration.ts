import type { z } from "zod";
import type { DatasetCheck } from "./dataset-check.js";
import type { MappedInput } from "./mapped-input.js";
import type { PartitionInfo } from "./partition-keys.js";
import type { PartitionMapping } from "./partition-mapping.js";
import type { PartitionScheme } from "./partition-scheme.js";
import type { SourceLocation } from "./reflow-error.js";
import type { RetryPolicy } from "./retry-policy.js";
import type { SqlFunction } from "./sql-transform.js";

/** Brand that marks a value as a reflow declaration, shared across module copies. */
export const DECLARATION = Symbol.for("reflow.declaration");

export type Row = Record<string, unknown>;

/** Reads the input partitions a transform was planned to read, from the warehouse. */
export interface InputReader<R> extends AsyncIterable<R> {
  /** The input partition keys this reader covers, ascending. */
  readonly partitions: readonly string[];
  /** Every row of those partitions, in one array. Use iteration for large inputs. */
  rows(): Promise<R[]>;
}

export type RowOf<D> =
  D extends DatasetDeclaration<string, infer R> ? R : D extends DatasetRef<infer R> ? R : D extends MappedInput<infer I> ? RowOf<I> : never;

/** A dataset named by string, for inputs declared in another module or later in the file. */
export interface DatasetRef<R = Row> {
  readonly [DATASET_REF]: true;
  readonly name: string;
  readonly __row?: R;
}

export const DATASET_REF = Symbol.for("reflow.datasetRef");

/** Each input is a dataset, a `ref()`, or either wrapped in a mapping helper (`window(events, { days: 7 })`). */
export type InputDeclarations = Readonly<Record<string, DatasetDeclaration<string, any> | DatasetRef<any> | MappedInput>>;

export type InputReaders<I extends InputDeclarations> = { readonly [K in keyof I]: InputReader<RowOf<I[K]>> };

/** What a transform (or a source's `read`) may return: rows, at once or streamed. */
export type RowsResult<R> = Iterable<R> | AsyncIterable<R> | Promise<Iterable<R> | AsyncIterable<R>>;

export interface TransformContext<I extends InputDeclarations> {
  readonly partition: PartitionInfo;
  readonly inputs: InputReaders<I>;
}

export interface ReadContext {
  readonly partition: PartitionInfo;
  /** The project's directory, where relative paths (file sources) start; absent outside a reflow run. */
  readonly projectDir?: string;
}

/** What a transform with `batch: N` gets: up to N consecutive partitions, ascending, and inputs covering all of them. */
export interface BatchTransformContext<I extends InputDeclarations> {
  readonly partitions: readonly PartitionInfo[];
  readonly inputs: InputReaders<I>;
}

export interface BatchReadContext {
  readonly partitions: readonly PartitionInfo[];
}

/**
 * What a batched transform returns: the rows of each partition, by key (a Map
 * or a plain object). A key of the batch that is absent has no rows.
 */
export type BatchRowsResult<R> = BatchRows<R> | Promise<BatchRows<R>>;
export type BatchRows<R> = ReadonlyMap<string, Iterable<R> | AsyncIterable<R>> | Readonly<Record<string, Iterable<R> | AsyncIterable<R>>>;

/** One declared input of a dataset: which dataset, under which name, through which mapping. */
export interface InputBinding {
  readonly alias: string;
  readonly dataset: string;
  /** Absent: the compiler picks the default for the two schemes (identity, rollup or all). */
  readonly mapping?: PartitionMapping;
}

/** The default change category of a dataset whose code changes (`reflow plan --forward-only` overrides per plan). */
export type ReprocessPolicy = "breaking" | "forward-only";

/**
 * A declared dataset or source, as the authoring API returns it. Sources and
 * datasets are the same noun: a source's `read` is its transform and it has no inputs.
 */
export interface DatasetDeclaration<Name extends string = string, R = Row> {
  readonly [DECLARATION]: true;
  readonly name: Name;
  readonly kind: "source" | "dataset";
  readonly partitions: PartitionScheme;
  readonly inputs: readonly InputBinding[];
  readonly schema: z.ZodType<R>;
  readonly version: number;
  /** Metadata: changing it (or checks, retries, maxConcurrency, pool, retainVersions) rebuilds nothing; `apply` records it. */
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
  /** How a change of its code is applied by default: `breaking` (rebuild the full history) or `forward-only`. */
  readonly reprocess?: ReprocessPolicy;
  /** Audits of each partition version before it is published, in declaration order. */
  readonly checks: readonly DatasetCheck[];
  /** Overrides of the project's retry policy (reflow.yaml `retries`). */
  readonly retries?: Partial<RetryPolicy>;
  /** At most this many partitions of this dataset are built at once. */
  readonly maxConcurrency?: number;
  /** The reflow.yaml pool (`pools: { api: 1 }`) whose slots this dataset's builds share. */
  readonly pool?: string;
  /** Versions of each partition `reflow gc` keeps (the live one included); absent: reflow.yaml `retainVersions`. */
  readonly retainVersions?: number;
  /** Sources: a cheap version of a partition's raw data, observed by `plan` instead of reading it. */
  readonly sourceVersion?: (context: ReadContext) => string | Promise<string>;
  /** Sources: false if `plan` must not observe it for changes. */
  readonly observe?: boolean;
  /**
   * Consecutive planned partitions handed to one call of `run` (`batch: 31`):
   * it then gets `partitions` instead of `partition` and returns rows by key.
   */
  readonly batch?: number;
  /** The user's function: `transform` for datasets, `read` for sources; for SQL datasets the same function as `sql`. */
  readonly run: (context: {
    partition?: PartitionInfo;
    partitions?: readonly PartitionInfo[];
    inputs: Readonly<Record<string, InputReader<Row>>>;
    projectDir?: string;
  }) => RowsResult<unknown> | BatchRowsResult<unknown>;
  /** The property of the declaration object that holds what `run` does (`transform`, `read`, `sql`, or a file source's `path`). */
  readonly runProperty: "transform" | "read" | "path" | "sql";
  /** SQL datasets: builds the query the warehouse runs for a partition. */
  readonly sql?: SqlFunction;
  /** Where `dataset()` / `source()` was called; absent only if the stack could not be read. */
  readonly definedAt?: SourceLocation;
  /** The frames of user code under the call, innermost (`definedAt`) first: a factory's callers. */
  readonly callStack?: readonly SourceLocation[];
  /** Environment variables the code reads that the fingerprint must cover (their values, hashed). */
  readonly dependsOnEnv: readonly string[];
  /** Environment variables the code reads that do not change its output: not fingerprinted, not warned about. */
  readonly ignoreEnv: readonly string[];
  /** Phantom for type inference of rows; never set. */
  readonly __row?: R;
}

export function isDeclaration(value: unknown): value is DatasetDeclaration {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[DECLARATION] === true;
}

export function isDatasetRef(value: unknown): value is DatasetRef {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[DATASET_REF] === true;
}

/**
 * Names an input by its dataset name instead of its declaration object, like
 * dbt's ref(): for inputs declared elsewhere or later. The compiler checks that it exists.
 */
export function ref<R = Row>(name: string): DatasetRef<R> {
  return Object.freeze({ [DATASET_REF]: true as const, name });
}
