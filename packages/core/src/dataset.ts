import { z } from "zod";
import { callerStack } from "./stack-frames.js";
import {
  DECLARATION,
  isDatasetRef,
  isDeclaration,
  type DatasetDeclaration,
  type InputBinding,
  type InputDeclarations,
  type ReadContext,
  type RowsResult,
  type TransformContext,
} from "./dataset-declaration.js";
import { check, isDatasetCheck, type CustomCheckFunction, type DatasetCheck } from "./dataset-check.js";
import { registerDeclaration } from "./declaration-registry.js";
import { isMappedInput } from "./mapped-input.js";
import type { PartitionScheme } from "./partition-scheme.js";
import { ReflowError, formatLocation, type ReflowErrorCode, type SourceLocation } from "./reflow-error.js";
import { retryPolicyProblem, type RetryPolicy } from "./retry-policy.js";

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
  readonly description?: string;
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

export interface DatasetOptions<I extends InputDeclarations, S extends RowSchema> extends CommonOptions<S> {
  readonly inputs?: I;
  readonly transform: (context: TransformContext<I>) => RowsResult<z.input<S>>;
}

export interface SourceOptions<S extends RowSchema> extends CommonOptions<S> {
  readonly read: (context: ReadContext) => RowsResult<z.input<S>>;
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
    return Object.freeze(isMappedInput(declared) ? { alias, dataset: input.name, mapping: declared.mapping } : { alias, dataset: input.name });
  });
  return declare(name, "dataset", options, inputs, options.transform, "transform", callStack);
}

/**
 * Declares raw data entering the pipeline. A source is materialized like a
 * dataset: `read` is its transform, and its partitions are planned, stored and versioned.
 */
export function source<Name extends string, S extends RowSchema>(name: Name, options: SourceOptions<S>): DatasetDeclaration<Name, z.output<S>> {
  const callStack = callerStack();
  const definedAt = callStack[0];
  if (options.sourceVersion !== undefined && typeof options.sourceVersion !== "function") fail(name, definedAt, "sourceVersion must be a function ({ partition }) => string");
  if (options.observe !== undefined && typeof options.observe !== "boolean") fail(name, definedAt, "observe must be true or false");
  return declare(name, "source", options, [], options.read, "read", callStack, {
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
  runProperty: "transform" | "read",
  callStack: readonly SourceLocation[],
  sourceOnly: Pick<DatasetDeclaration, "sourceVersion" | "observe"> = {},
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
  if (options.pool !== undefined && (typeof options.pool !== "string" || options.pool === "")) fail(name, definedAt, `pool must be the name of a pool in reflow.yaml, got ${JSON.stringify(options.pool)}`);
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
    ...(options.description === undefined ? {} : { description: options.description }),
    ...sourceOnly,
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
