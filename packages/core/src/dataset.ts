import { z } from "zod";
import { callerStack } from "./stack-frames.js";
import {
  DECLARATION,
  isDatasetRef,
  isDeclaration,
  type DatasetDeclaration,
  type BatchReadContext,
  type BatchRowsResult,
  type BatchTransformContext,
  type InputBinding,
  type InputDeclarations,
  type ReadContext,
  type ReprocessPolicy,
  type RowsResult,
  type TransformContext,
} from "./dataset-declaration.js";
import { check, isDatasetCheck, type CustomCheckFunction, type DatasetCheck } from "./dataset-check.js";
import { registerDeclaration } from "./declaration-registry.js";
import { isMappedInput } from "./mapped-input.js";
import { SELF } from "./previous.js";
import type { PartitionScheme } from "./partition-scheme.js";
import { ReflowError, formatLocation, type ReflowErrorCode, type SourceLocation } from "./reflow-error.js";
import { retryPolicyProblem, type RetryPolicy } from "./retry-policy.js";
import type { SqlFunction } from "./sql-transform.js";

const NAME = /^[a-z][a-z0-9_]*$/;
// POSIX portable names; anything else cannot be set from a shell.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type RowSchema = z.ZodObject<z.ZodRawShape>;

interface CommonOptions<S extends RowSchema> {
  /** Omit for an unpartitioned dataset (one partition). */
  readonly partitions?: PartitionScheme;
  /** The shape of one output row; every row is validated against it. */
  readonly schema: S;
  /** Bump to force a rebuild when something the code analysis cannot see changed. */
  readonly version?: number;
  /** Metadata: not part of the fingerprint; editing it rebuilds nothing (`plan` says "metadata only"). */
  readonly description?: string;
  /** Who answers for the data (a team or a person); metadata. */
  readonly owner?: string;
  /** Free labels; metadata. */
  readonly tags?: readonly string[];
  /**
   * How a change of the code is applied unless the plan says otherwise:
   * `breaking` (default) rebuilds the full history and everything downstream,
   * `forward-only` keeps the built partitions and builds only new ones with the new code.
   */
  readonly reprocess?: ReprocessPolicy;
  /**
   * Run on every new partition version before it is published: built-in checks
   * (`rowCount`, `unique`, `notNull`, `maxChangeFromPrevious`), `check(name, fn)`,
   * or a plain `(rows, ctx) => message | undefined`. A failing check keeps the
   * previous version live unless its severity is "warn".
   */
  readonly checks?: readonly (DatasetCheck | CustomCheckFunction<z.output<S>>)[];
  /** Retry a failing build: `{ attempts: 3, backoff: "exponential", initialDelayMs: 500 }`. */
  readonly retries?: Partial<RetryPolicy>;
  /** At most this many partitions of this dataset are built at once. */
  readonly maxConcurrency?: number;
  /** A pool from reflow.yaml `pools`: datasets in one pool share its slots (an API with a rate limit). */
  readonly pool?: string;
  /** Versions of each partition `reflow gc` keeps, the live one included (default: reflow.yaml `retainVersions`). */
  readonly retainVersions?: number;
  /**
   * Environment variables the code reads (`["TAX_RATE"]`): what code analysis
   * cannot see. Their values are hashed into the fingerprint, so changing one
   * rebuilds the dataset; the values themselves are never printed or stored.
   */
  readonly dependsOnEnv?: readonly string[];
  /**
   * Environment variables the code reads that do not change what it computes
   * (credentials, endpoints, fault injection): no warning for reading them, and
   * they stay out of the fingerprint.
   */
  readonly ignoreEnv?: readonly string[];
}

/** One partition per call (the default). */
interface Unbatched {
  readonly batch?: undefined;
}

/** Up to `batch` consecutive planned partitions per call, for sources and sinks that are efficient in bulk. */
interface Batched {
  readonly batch: number;
}

export type DatasetOptions<I extends InputDeclarations, S extends RowSchema> =
  | (CommonOptions<S> &
      Unbatched & {
        readonly inputs?: I;
        /** Computes the partition's rows in Node. Give exactly one of `transform` and `sql`. */
        readonly transform?: (context: TransformContext<I>) => RowsResult<z.input<S>>;
        /**
         * Computes the partition's rows inside the warehouse: a kysely select (or a
         * `sql` template) over `inputs`, run as one `INSERT … SELECT`.
         */
        readonly sql?: SqlFunction<I, z.output<S>>;
      })
  | (CommonOptions<S> &
      Batched & { readonly inputs?: I; readonly transform: (context: BatchTransformContext<I>) => BatchRowsResult<z.input<S>>; readonly sql?: undefined });

export type SourceOptions<S extends RowSchema> = SourceCommonOptions &
  (
    | (CommonOptions<S> & Unbatched & { readonly read: (context: ReadContext) => RowsResult<z.input<S>> })
    | (CommonOptions<S> & Batched & { readonly read: (context: BatchReadContext) => BatchRowsResult<z.input<S>> })
  );

interface SourceCommonOptions {
  /**
   * A cheap version of one partition's raw data (a file's size and mtime, an
   * ETag). `plan` compares it with the version the partition was built from,
   * and a change puts the partition in the plan (`source-changed`). Without
   * it, `plan` reads the partition and compares content hashes.
   */
  readonly sourceVersion?: (context: ReadContext) => string | Promise<string>;
  /** `false`: never observe this source for changes (its reads are too costly); rebuild it with `backfill --restate`. */
  readonly observe?: boolean;
}

/** Declares a dataset computed by `transform` from the partitions of its `inputs`. */
export function dataset<Name extends string, S extends RowSchema, I extends InputDeclarations = {}>(
  name: Name,
  options: DatasetOptions<I, S>,
): DatasetDeclaration<Name, z.output<S>> {
  const callStack = callerStack();
  const definedAt = callStack[0];
  const inputs = Object.entries(options.inputs ?? {}).map(([alias, declared]): InputBinding => {
    const input: unknown = isMappedInput(declared) ? declared.input : declared;
    if (!isDeclaration(input) && !isDatasetRef(input)) {
      fail(name, definedAt, `input "${alias}" is not a dataset or source declared with reflow (got ${describe(input)})`, "REFLOW_UNKNOWN_INPUT");
    }
    const dataset = input === SELF ? name : input.name;
    return Object.freeze(isMappedInput(declared) ? { alias, dataset, mapping: declared.mapping } : { alias, dataset });
  });
  const given = (["transform", "sql"] as const).filter((property) => options?.[property] !== undefined);
  if (given.length !== 1) {
    fail(name, definedAt, given.length === 0 ? "give a transform (rows computed in Node) or sql (a query run in the warehouse)" : "give transform or sql, not both");
  }
  const runProperty = given[0]!;
  if (runProperty === "sql" && typeof options.sql !== "function") fail(name, definedAt, "sql must be a function ({ db, inputs, partition, sql }) => query");
  return declare(name, "dataset", options, inputs, options[runProperty], runProperty, callStack, runProperty === "sql" ? { sql: options.sql as SqlFunction } : {});
}

/**
 * Declares raw data entering the pipeline. A source is materialized like a
 * dataset: `read` is its transform, and its partitions are planned, stored and versioned.
 */
export function source<Name extends string, S extends RowSchema>(name: Name, options: SourceOptions<S>): DatasetDeclaration<Name, z.output<S>> {
  return declareSource(name, options, "read", callerStack());
}

/**
 * A source whose code sits in the options property `runProperty`: `read`, or
 * `path` for the file source helpers, whose reading code is reflow's own.
 */
export function declareSource<Name extends string, S extends RowSchema>(
  name: Name,
  options: SourceOptions<S>,
  runProperty: "read" | "path",
  callStack: readonly SourceLocation[],
): DatasetDeclaration<Name, z.output<S>> {
  const definedAt = callStack[0];
  if (options.sourceVersion !== undefined && typeof options.sourceVersion !== "function") fail(name, definedAt, "sourceVersion must be a function ({ partition }) => string");
  if (options.observe !== undefined && typeof options.observe !== "boolean") fail(name, definedAt, "observe must be true or false");
  return declare(name, "source", options, [], options.read, runProperty, callStack, {
    ...(options.sourceVersion ? { sourceVersion: options.sourceVersion } : {}),
    ...(options.observe === false ? { observe: false } : {}),
  });
}

function declare<Name extends string, S extends RowSchema>(
  name: Name,
  kind: "source" | "dataset",
  options: CommonOptions<S>,
  inputs: InputBinding[],
  run: unknown,
  runProperty: DatasetDeclaration["runProperty"],
  callStack: readonly SourceLocation[],
  kindOnly: Pick<DatasetDeclaration, "sourceVersion" | "observe" | "sql"> = {},
): DatasetDeclaration<Name, z.output<S>> {
  const definedAt = callStack[0];
  if (typeof name !== "string" || !NAME.test(name)) {
    fail(String(name), definedAt, `name must be lower_snake_case (letters, digits, _; starting with a letter) so it can be a table name, got ${JSON.stringify(name)}`);
  }
  if (typeof options !== "object" || options === null) fail(name, definedAt, "options must be an object");
  if (!(options.schema instanceof z.ZodObject)) fail(name, definedAt, "schema must be a z.object({...}) describing one row");
  if (typeof run !== "function") fail(name, definedAt, `${runProperty} must be a function`);
  if (options.version !== undefined && (!Number.isInteger(options.version) || options.version < 0)) {
    fail(name, definedAt, `version must be a non-negative integer, got ${JSON.stringify(options.version)}`);
  }
  const partitions = options.partitions ?? Object.freeze({ kind: "unpartitioned" as const });
  if (typeof partitions !== "object" || partitions === null || !("kind" in partitions)) {
    fail(name, definedAt, "partitions must come from a partitioning helper such as daily({ start }) or monthly({ start })");
  }
  const checks = (options.checks ?? []).map((item, i): DatasetCheck => {
    if (isDatasetCheck(item)) return item;
    if (typeof item === "function") return check(item.name || `checks[${i}]`, item as CustomCheckFunction);
    return fail(name, definedAt, `checks[${i}] is not a check: use rowCount(), unique(), notNull(), maxChangeFromPrevious(), check(name, fn) or a function (got ${typeof item})`);
  });
  if (options.checks !== undefined && !Array.isArray(options.checks)) fail(name, definedAt, "checks must be an array");
  if (options.retries !== undefined) {
    const problem = retryPolicyProblem(options.retries);
    if (problem) fail(name, definedAt, problem);
  }
  if (options.maxConcurrency !== undefined && (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1)) {
    fail(name, definedAt, `maxConcurrency must be a whole number of at least 1, got ${JSON.stringify(options.maxConcurrency)}`);
  }
  if (options.description !== undefined && typeof options.description !== "string") fail(name, definedAt, `description must be a string, got ${describe(options.description)}`);
  if (options.owner !== undefined && (typeof options.owner !== "string" || options.owner === "")) fail(name, definedAt, `owner must be a non-empty string, got ${JSON.stringify(options.owner)}`);
  if (options.tags !== undefined && (!Array.isArray(options.tags) || options.tags.some((tag) => typeof tag !== "string" || tag === ""))) {
    fail(name, definedAt, `tags must be an array of non-empty strings, got ${JSON.stringify(options.tags)}`);
  }
  if (options.reprocess !== undefined && options.reprocess !== "breaking" && options.reprocess !== "forward-only") {
    fail(name, definedAt, `reprocess must be "breaking" or "forward-only", got ${JSON.stringify(options.reprocess)}`);
  }
  if (options.pool !== undefined && (typeof options.pool !== "string" || options.pool === "")) fail(name, definedAt, `pool must be the name of a pool in reflow.yaml, got ${JSON.stringify(options.pool)}`);
  if (options.retainVersions !== undefined && (!Number.isInteger(options.retainVersions) || options.retainVersions < 1)) {
    fail(name, definedAt, `retainVersions must be a whole number of at least 1 (the live version counts), got ${JSON.stringify(options.retainVersions)}`);
  }
  const batch = (options as { batch?: unknown }).batch;
  if (batch !== undefined) {
    if (!Number.isInteger(batch) || (batch as number) < 1) fail(name, definedAt, `batch must be a whole number of at least 1, got ${JSON.stringify(batch)}`);
    // One INSERT … SELECT per partition already runs in bulk inside the warehouse.
    if (runProperty === "sql") fail(name, definedAt, "batch applies to transform, not sql");
    // A batch would have to read partitions it is itself computing.
    if (inputs.some((input) => input.dataset === name)) {
      fail(name, definedAt, "batch cannot be combined with previous(): each partition reads the one before it, so they are built one at a time");
    }
  }
  const dependsOnEnv = envNames(name, definedAt, "dependsOnEnv", options.dependsOnEnv);
  const ignoreEnv = envNames(name, definedAt, "ignoreEnv", options.ignoreEnv);
  const both = dependsOnEnv.filter((variable) => ignoreEnv.includes(variable));
  if (both.length > 0) fail(name, definedAt, `${both.join(", ")} cannot be both in dependsOnEnv and in ignoreEnv`);
  const declaration = {
    [DECLARATION]: true as const,
    name,
    kind,
    partitions,
    inputs: Object.freeze(inputs),
    schema: options.schema as unknown as z.ZodType<z.output<S>>,
    version: options.version ?? 0,
    run: run as DatasetDeclaration["run"],
    runProperty,
    checks: Object.freeze(checks),
    dependsOnEnv,
    ignoreEnv,
    ...(options.retries === undefined ? {} : { retries: Object.freeze({ ...options.retries }) }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    ...(options.pool === undefined ? {} : { pool: options.pool }),
    ...(options.retainVersions === undefined ? {} : { retainVersions: options.retainVersions }),
    ...(batch === undefined ? {} : { batch: batch as number }),
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.owner === undefined ? {} : { owner: options.owner }),
    ...(options.tags === undefined ? {} : { tags: Object.freeze([...options.tags]) }),
    ...(options.reprocess === undefined ? {} : { reprocess: options.reprocess }),
    ...kindOnly,
    ...(definedAt === undefined ? {} : { definedAt, callStack: Object.freeze(callStack.map((frame) => Object.freeze({ ...frame }))) }),
  };
  Object.freeze(declaration);
  registerDeclaration(declaration as DatasetDeclaration);
  return declaration;
}

function envNames(name: string, location: SourceLocation | undefined, option: string, value: unknown): readonly string[] {
  const names = value ?? [];
  if (!Array.isArray(names) || names.some((variable) => typeof variable !== "string" || !ENV_NAME.test(variable))) {
    fail(name, location, `${option} must be an array of environment variable names such as ["TAX_RATE"], got ${JSON.stringify(names)}`);
  }
  return Object.freeze([...new Set(names as string[])].sort());
}

function fail(name: string, location: SourceLocation | undefined, problem: string, code: ReflowErrorCode = "REFLOW_INVALID_DECLARATION"): never {
  const where = location ? `${formatLocation(location)}: ` : "";
  throw new ReflowError(code, `${where}dataset "${name}": ${problem}`, {
    subject: name,
    ...(location ? { location } : {}),
  });
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined: is it declared later in the file, or imported in a cycle?";
  return typeof value;
}
