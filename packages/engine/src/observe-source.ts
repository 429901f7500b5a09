import { ContentHasher, partitionInfo, ReflowError, type Row } from "@reflow/core";
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
 */
export async function observeSourcePartitions(dataset: ExecutableDataset, keys: readonly string[], projectDir: string): Promise<string[]> {
  const declaration = dataset.declaration;
  const partitions = keys.map((key) => partitionInfo(dataset.partitions, key));
  const failed = (key: string, error: unknown) =>
    new ReflowError(
      "REFLOW_SOURCE_UNREADABLE",
      `cannot observe source "${dataset.name}" partition ${key} for changes: ${(error as Error).message} (declare observe: false on the source to skip observing it)`,
      { subject: dataset.name, cause: error },
    );
  if (declaration.sourceVersion) {
    return Promise.all(
      partitions.map(async (partition) => {
        try {
          return `v:${String(await declaration.sourceVersion!({ partition, projectDir }))}`;
        } catch (error) {
          throw failed(partition.key, TaskError.fromUserCode(error, { declaration: { runProperty: "sourceVersion" } }, projectDir));
        }
      }),
    );
  }
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
