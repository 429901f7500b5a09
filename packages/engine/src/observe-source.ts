import { ContentHasher, partitionInfo, ReflowError, type PartitionInfo, type Row } from "@reflow/core";
import type { ExecutableDataset } from "./execute-plan.js";
import { schemaViolation, TaskError } from "./task-error.js";
import { rowValidator } from "./row-validator.js";
import { batchOutput, forEachRow } from "./transform-output.js";

/**
 * The current version of source partitions, as `plan` compares them with
 * the ones they were built from: `v:` + the source's `sourceVersion()` when
 * it declares one, else `c:` + the content hash of what `read` returns
 * (validated like a build, so it equals the hash a build would record). A
 * batched source is read for all the keys (at most its `batch`) in one call.
 * `infoOf` lets a caller share each key's (frozen) partition info between
 * sources of one scheme.
 */
export async function observeSourcePartitions(
  dataset: ExecutableDataset,
  keys: readonly string[],
  projectDir: string,
  infoOf: (key: string) => PartitionInfo = (key) => partitionInfo(dataset.partitions, key),
): Promise<string[]> {
  const declaration = dataset.declaration;
  const partitions = keys.map(infoOf);
  const failed = (key: string, error: unknown) => unreadable(dataset, key, error);
  if (declaration.sourceVersion) return Promise.all(partitions.map((partition) => observeSourceVersion(dataset, partition, projectDir)));
  let outputs: unknown[];
  try {
    outputs =
      declaration.batch === undefined
        ? await Promise.all(partitions.map((partition) => declaration.run({ partition, inputs: {}, projectDir })))
        : [...batchOutput(await declaration.run({ partitions, inputs: {}, projectDir }), keys, dataset).values()];
  } catch (error) {
    throw failed(keys[0]!, TaskError.fromUserCode(error, dataset, projectDir));
  }
  const versions: string[] = [];
  for (const [k, output] of outputs.entries()) {
    try {
      const hasher = new ContentHasher(dataset.columns);
      const validate = rowValidator(declaration.schema);
      let index = 0;
      await forEachRow(output, dataset, projectDir, (raw) => {
        const parsed = validate(raw);
        if (!parsed.success) throw schemaViolation(index, parsed.error);
        hasher.add(parsed.data as Row);
        index += 1;
      });
      versions.push(`c:${hasher.digest()}`);
    } catch (error) {
      throw failed(keys[k]!, error);
    }
  }
  return versions;
}

/**
 * `v:` + a source's `sourceVersion()` of one partition. A synchronous answer
 * (an ETag kept in memory, a file's mtime) is returned as is, not as a
 * promise: observing 36,500 partitions of the plan benchmark otherwise cost
 * several promises and microtask turns each. Failures, thrown or rejected,
 * are `REFLOW_SOURCE_UNREADABLE` either way (thrown, or a rejected promise).
 */
export function observeSourceVersion(dataset: ExecutableDataset, partition: PartitionInfo, projectDir: string): string | Promise<string> {
  let answer: unknown;
  try {
    answer = dataset.declaration.sourceVersion!({ partition, projectDir });
  } catch (error) {
    throw versionUnreadable(dataset, partition, projectDir, error);
  }
  if (!isThenable(answer)) return `v:${String(answer)}`;
  return Promise.resolve(answer).then(
    (version) => `v:${String(version)}`,
    (error: unknown) => {
      throw versionUnreadable(dataset, partition, projectDir, error);
    },
  );
}

function versionUnreadable(dataset: ExecutableDataset, partition: PartitionInfo, projectDir: string, error: unknown): ReflowError {
  return unreadable(dataset, partition.key, TaskError.fromUserCode(error, { declaration: { runProperty: "sourceVersion" } }, projectDir));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function unreadable(dataset: ExecutableDataset, key: string, error: unknown): ReflowError {
  return new ReflowError(
    "REFLOW_SOURCE_UNREADABLE",
    `cannot observe source "${dataset.name}" partition ${key} for changes: ${(error as Error).message} (declare observe: false on the source to skip observing it)`,
    { subject: dataset.name, cause: error },
  );
}
