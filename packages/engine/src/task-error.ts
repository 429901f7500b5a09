import path from "node:path";
import { fileURLToPath } from "node:url";
import { describeSchemaIssue, displayPath, isPermanentError, isReflowError, stackFrames, type ReflowErrorCode } from "@reflow/core";
import type { PlannedTask } from "@reflow/planner";
import type { z } from "zod";

/**
 * A task failure whose message is already written for the user (without the
 * dataset/partition prefix). Only failures of the user's code that are not
 * marked `permanent` are worth retrying: a schema violation or a failed check
 * would fail the same way again.
 */
export class TaskError extends Error {
  constructor(
    readonly code: ReflowErrorCode,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = "TaskError";
  }

  /** Wraps an error thrown by a transform, pointing at the line of user code that threw. */
  static fromUserCode(error: unknown, dataset: { declaration: { runProperty: string } }, projectDir: string): TaskError {
    if (error instanceof TaskError) return error;
    // reflow's own helpers (file sources) already say what and where: keep their code and message.
    if (isReflowError(error)) return new TaskError(error.code, error.message);
    const message = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error);
    const at = userFrame(error, projectDir);
    return new TaskError("REFLOW_TRANSFORM_FAILED", `${dataset.declaration.runProperty} threw${at ? ` at ${at}` : ""}: ${message}`, !isPermanentError(error));
  }
}

/** `row 18 (index 17): field "active_users": Invalid input: expected number, received string` */
export function schemaViolation(index: number, error: z.ZodError): TaskError {
  return new TaskError("REFLOW_SCHEMA_VIOLATION", `row ${index + 1} (index ${index}): ${describeSchemaIssue(error)}`);
}

/** Whether another attempt could succeed: errors of reflow's own machinery (a busy disk) are retried too. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TaskError) return error.retryable;
  return !isReflowError(error) && !isPermanentError(error);
}

/** The message recorded for a failed task: names dataset and partition, then what went wrong. */
export function describeTaskError(error: unknown, task: Pick<PlannedTask, "dataset" | "partition">): string {
  const code = error instanceof TaskError || isReflowError(error) ? error.code : "REFLOW_TRANSFORM_FAILED";
  const message = error instanceof Error ? error.message : String(error);
  return `${code}: dataset "${task.dataset}" partition ${task.partition}: ${message}`;
}

/** reflow's own packages and CLI: never the place a user's transform failed. */
const REFLOW_DIRS = [path.resolve(fileURLToPath(import.meta.url), "../../.."), path.resolve(fileURLToPath(import.meta.url), "../../../../cli")];

function userFrame(error: unknown, projectDir: string): string | undefined {
  for (const { file, line, column } of stackFrames(error)) {
    const relative = path.relative(projectDir, file);
    if (relative.startsWith("..") || path.isAbsolute(relative) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (REFLOW_DIRS.some((dir) => file.startsWith(dir + path.sep))) continue;
    return `${displayPath(file)}:${line}:${column}`;
  }
  return undefined;
}
