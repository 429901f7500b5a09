import path from "node:path";

/** Where a user-facing object was declared; every error about user input should carry one. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
}

/**
 * Stable error codes. Users and scripts match on these, so never rename one;
 * add new codes instead.
 */
export const REFLOW_ERROR_CODES = [
  "REFLOW_CONFIG_INVALID",
  "REFLOW_MODULE_LOAD_FAILED",
  "REFLOW_NO_PIPELINES",
  "REFLOW_INVALID_DECLARATION",
  "REFLOW_DUPLICATE_NAME",
  "REFLOW_UNKNOWN_INPUT",
  "REFLOW_CYCLE",
  "REFLOW_PARTITION_MISMATCH",
  "REFLOW_INVALID_PARTITIONS",
  "REFLOW_FINGERPRINT_FAILED",
  "REFLOW_SCHEMA_VIOLATION",
  "REFLOW_SCHEMA_MISMATCH",
  "REFLOW_TRANSFORM_FAILED",
  "REFLOW_UPSTREAM_FAILED",
  "REFLOW_CHECK_FAILED",
  "REFLOW_UNKNOWN_POOL",
  "REFLOW_UNKNOWN_DATASET",
  "REFLOW_SOURCE_UNREADABLE",
  "REFLOW_SOURCE_FILE_MISSING",
  "REFLOW_SOURCE_FILE_INVALID",
  "REFLOW_STATE_INCOMPATIBLE",
  "REFLOW_STATE_CHANGED",
  "REFLOW_LOCKED",
  "REFLOW_LOCK_LOST",
  "REFLOW_PLAN_STALE",
  "REFLOW_PLAN_INVALID",
  "REFLOW_CONFIRMATION_REQUIRED",
  "REFLOW_INVALID_ARGUMENT",
  "REFLOW_UNKNOWN_PARTITION",
  "REFLOW_UNKNOWN_RUN",
  "REFLOW_NO_PREVIOUS_VERSION",
  "REFLOW_STORAGE_UNAVAILABLE",
  "REFLOW_DISTRIBUTE_UNSUPPORTED",
  "REFLOW_OUTPUT_FAILED",
] as const;

export type ReflowErrorCode = (typeof REFLOW_ERROR_CODES)[number];

export interface ReflowErrorContext {
  /** The declaration or file position the error is about. */
  readonly location?: SourceLocation;
  /** The object the error is about: a dataset name, a config key path, a partition. */
  readonly subject?: string;
  readonly cause?: unknown;
}

/**
 * Every failure reflow reports to a user. The message is complete on its own
 * (it names file, line and object); `code` is for machines.
 */
export class ReflowError extends Error {
  readonly code: ReflowErrorCode;
  readonly location?: SourceLocation;
  readonly subject?: string;

  constructor(code: ReflowErrorCode, message: string, context: ReflowErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = "ReflowError";
    this.code = code;
    if (context.location) this.location = context.location;
    if (context.subject !== undefined) this.subject = context.subject;
  }
}

export function isReflowError(error: unknown): error is ReflowError {
  return error instanceof Error && error.name === "ReflowError" && typeof (error as ReflowError).code === "string";
}

/** `file:line[:column]`, with the file relative to the working directory when it lies below it. */
export function formatLocation(location: SourceLocation | undefined): string {
  if (!location) return "";
  const file = displayPath(location.file);
  return location.column === undefined ? `${file}:${location.line}` : `${file}:${location.line}:${location.column}`;
}

export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  if (relative === "") return ".";
  return !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}
