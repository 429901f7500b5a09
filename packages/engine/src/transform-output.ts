import type { ExecutableDataset } from "./execute-plan.js";
import { TaskError } from "./task-error.js";

/** Accepts what a transform may return: an array or iterable of rows, or an async iterable. */
export async function* asRows(output: unknown, dataset: ExecutableDataset, projectDir: string): AsyncIterable<unknown> {
  if (output !== null && typeof output === "object") {
    if (Symbol.asyncIterator in output) {
      try {
        yield* output as AsyncIterable<unknown>;
      } catch (error) {
        throw TaskError.fromUserCode(error, dataset, projectDir);
      }
      return;
    }
    if (Symbol.iterator in output) {
      yield* output as Iterable<unknown>;
      return;
    }
  }
  throw new TaskError(
    "REFLOW_TRANSFORM_FAILED",
    `${dataset.declaration.runProperty} returned ${output === null ? "null" : typeof output}, expected an array or (async) iterable of rows`,
  );
}

/**
 * Splits what a batched transform returned (rows by partition key, as a Map or
 * a plain object) into each partition's rows. A key of the batch that is
 * absent has no rows; a key outside the batch fails the whole batch.
 */
export function batchOutput(output: unknown, keys: readonly string[], dataset: ExecutableDataset): ReadonlyMap<string, unknown> {
  const byKey =
    output instanceof Map
      ? new Map<unknown, unknown>(output)
      : output !== null && typeof output === "object" && !Array.isArray(output) && !(Symbol.iterator in output) && !(Symbol.asyncIterator in output)
        ? new Map<unknown, unknown>(Object.entries(output))
        : undefined;
  if (!byKey) {
    throw new TaskError(
      "REFLOW_TRANSFORM_FAILED",
      `${dataset.declaration.runProperty} has batch: ${dataset.declaration.batch}, so it must return rows by partition key ({ "${keys[0]}": rows, … } or a Map), got ${Array.isArray(output) ? "an array" : output === null ? "null" : typeof output}`,
    );
  }
  const inBatch = new Set(keys);
  for (const key of byKey.keys()) {
    if (typeof key !== "string" || !inBatch.has(key)) {
      throw new TaskError(
        "REFLOW_TRANSFORM_FAILED",
        `${dataset.declaration.runProperty} returned rows for partition ${JSON.stringify(key)}, which is not in this batch (${keys.length === 1 ? keys[0] : `${keys[0]} … ${keys[keys.length - 1]}`})`,
      );
    }
  }
  return new Map(keys.map((key) => [key, byKey.get(key) ?? []]));
}
