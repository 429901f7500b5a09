import type { CompiledDataset, CompiledProject } from "@reflow/compiler";
import { GRAIN_FORMATS, isPartitionKey, ReflowError, type PartitionScheme } from "@reflow/core";
import { keyPosition } from "@reflow/planner";

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

/** Checks `--from`/`--to` (each optional) against the dataset's scheme and each other. */
export function checkPartitionRange(dataset: CompiledDataset, from: string | undefined, to: string | undefined): void {
  if (from !== undefined) checkPartitionKey(dataset, from, "--from");
  if (to !== undefined) checkPartitionKey(dataset, to, "--to");
  const position = partitionPosition(dataset);
  if (from !== undefined && to !== undefined && position(from) > position(to)) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `--from ${from} is after --to ${to}`);
  }
}

function keyFormat(scheme: PartitionScheme): string {
  switch (scheme.kind) {
    case "hourly":
    case "daily":
    case "weekly":
    case "monthly":
    case "yearly":
      return `${scheme.kind}: ${GRAIN_FORMATS[scheme.kind]}`;
    case "static":
      return `static: ${scheme.keys.join(", ")}`;
    case "unpartitioned":
      return "unpartitioned: its only key is *";
  }
}

/** Sort position of a key: time keys sort as strings; static keys go in their declared order. */
export function partitionPosition(dataset: CompiledDataset): (key: string) => string | number {
  return keyPosition(dataset.partitions);
}
