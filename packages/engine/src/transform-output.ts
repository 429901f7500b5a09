import type { ExecutableDataset } from "./execute-plan.js";
import { TaskError } from "./task-error.js";

/**
 * Calls `visit` with each row a transform returned: an array or iterable of
 * rows, or an async iterable. A sync iterable is drained without awaiting, and
 * an async one with one await per row (its own `next`): no generator of ours
 * in between, which cost a promise step per row. `visit` returns a promise only
 * when it must be waited for (a full batch to write). Errors the user's async
 * iterable throws become the task's error, as a transform's; `visit`'s own
 * errors pass through, and the user's iterator is closed as `for await` would.
 */
export async function forEachRow(output: unknown, dataset: ExecutableDataset, projectDir: string, visit: (row: unknown) => void | Promise<void>): Promise<void> {
  if (output !== null && typeof output === "object") {
    if (Symbol.asyncIterator in output) {
      const iterator = (output as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      for (;;) {
        let step: IteratorResult<unknown>;
        try {
          step = await iterator.next();
        } catch (error) {
          throw TaskError.fromUserCode(error, dataset, projectDir);
        }
        if (step.done) return;
        try {
          const pending = visit(step.value);
          if (pending) await pending;
        } catch (error) {
          await closeQuietly(iterator);
          throw error;
        }
      }
    }
    if (Symbol.iterator in output) {
      for (const row of output as Iterable<unknown>) {
        const pending = visit(row);
        if (pending) await pending;
      }
      return;
    }
  }
  throw new TaskError(
    "REFLOW_TRANSFORM_FAILED",
    `${dataset.declaration.runProperty} returned ${output === null ? "null" : typeof output}, expected an array or (async) iterable of rows`,
  );
}

/** What `for await` does when its body throws: let the iterator clean up; an error of its own does not hide the first. */
async function closeQuietly(iterator: AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // the body's error is the one to report
  }
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
