import { ContentHasher, partitionInfo, ReflowError, type Row } from "@reflow/core";
import type { ExecutableDataset } from "./execute-plan.js";
import { schemaViolation, TaskError } from "./task-error.js";
import { asRows, batchOutput } from "./transform-output.js";

/**
 * The current version of one source partition, as `plan` compares it with
 * the one the partition was built from: `v:` + the source's `sourceVersion()`
 * when it declares one, else `c:` + the content hash of what `read` returns
 * (validated like a build, so it equals the hash a build would record).
 */
export async function observeSourcePartition(dataset: ExecutableDataset, key: string, projectDir: string): Promise<string> {
  const declaration = dataset.declaration;
  const partition = partitionInfo(dataset.partitions, key);
  try {
    if (declaration.sourceVersion) {
      try {
        return `v:${String(await declaration.sourceVersion({ partition }))}`;
      } catch (error) {
        throw TaskError.fromUserCode(error, { declaration: { runProperty: "sourceVersion" } }, projectDir);
      }
    }
    const hasher = new ContentHasher(dataset.columns);
    let output: unknown;
    try {
      // A batched source is observed one partition per call (declare sourceVersion() to make plans cheap).
      output =
        declaration.batch === undefined
          ? await declaration.run({ partition, inputs: {} })
          : batchOutput(await declaration.run({ partitions: [partition], inputs: {} }), [key], dataset).get(key);
    } catch (error) {
      throw TaskError.fromUserCode(error, dataset, projectDir);
    }
    let index = 0;
    for await (const raw of asRows(output, dataset, projectDir)) {
      const parsed = declaration.schema.safeParse(raw);
      if (!parsed.success) throw schemaViolation(index, parsed.error);
      hasher.add(parsed.data as Row);
      index += 1;
    }
    return `c:${hasher.digest()}`;
  } catch (error) {
    throw new ReflowError(
      "REFLOW_SOURCE_UNREADABLE",
      `cannot observe source "${dataset.name}" partition ${key} for changes: ${(error as Error).message} (declare observe: false on the source to skip observing it)`,
      { subject: dataset.name, cause: error },
    );
  }
}
