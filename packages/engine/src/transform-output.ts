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
