import type { CompiledDataset, CompiledProject } from "@reflow/compiler";
import { isPartitionKey, ReflowError, type PartitionScheme } from "@reflow/core";

/** The dataset a command names, or REFLOW_UNKNOWN_DATASET listing those declared. */
export function declaredDataset(project: CompiledProject, name: string): CompiledDataset {
  const dataset = project.datasets.get(name);
  if (dataset) return dataset;
  throw new ReflowError("REFLOW_UNKNOWN_DATASET", `no dataset named ${JSON.stringify(name)} is declared (declared: ${project.order.join(", ")})`, {
    subject: name,
  });
}

/** Checks a partition key given on the command line (`what`: `--from`, `partition`…) against the dataset's scheme. */
export function checkPartitionKey(dataset: CompiledDataset, key: string, what: string): void {
  if (isPartitionKey(dataset.partitions, key)) return;
  throw new ReflowError("REFLOW_INVALID_ARGUMENT", `${what}: ${JSON.stringify(key)} is not a partition key of ${dataset.name} (${keyFormat(dataset.partitions)})`, {
    subject: dataset.name,
  });
}

function keyFormat(scheme: PartitionScheme): string {
  switch (scheme.kind) {
    case "daily":
      return "daily: YYYY-MM-DD";
    case "unpartitioned":
      return "unpartitioned: its only key is *";
  }
}
