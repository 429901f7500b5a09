import type { CompiledDataset, CompiledProject } from "@reflow/compiler";
import { GRAIN_FORMATS, isEmptyPartitionRange, isPartitionKey, isPartitionRangeBound, ReflowError, type PartitionScheme } from "@reflow/core";
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
export function checkPartitionKey(dataset: CompiledDataset, key: string, what: string, rangeBound = false): void {
  if (rangeBound ? isPartitionRangeBound(dataset.partitions, key) : isPartitionKey(dataset.partitions, key)) return;
  throw new ReflowError("REFLOW_INVALID_ARGUMENT", `${what}: ${JSON.stringify(key)} is not a partition key of ${dataset.name} (${keyFormat(dataset.partitions)})`, {
    subject: dataset.name,
  });
}

/** Checks `--from`/`--to` (each optional) against the dataset's scheme and each other. */
export function checkPartitionRange(dataset: CompiledDataset, from: string | undefined, to: string | undefined): void {
  if (from !== undefined) checkPartitionKey(dataset, from, "--from", true);
  if (to !== undefined) checkPartitionKey(dataset, to, "--to", true);
  if (from !== undefined && to !== undefined && isEmptyPartitionRange(dataset.partitions, from, to)) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `--from ${from} is after --to ${to}`);
  }
}

function keyFormat(scheme: PartitionScheme): string {
  if (scheme.kind === "multi") {
    const [first] = scheme.dimensions;
    return `multi: ${scheme.dimensions.map((d) => d.name).join("|")}, e.g. ${exampleMultiKey(scheme)}, or a ${first!.name} alone in --from/--to`;
  }
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

function exampleMultiKey(scheme: Extract<PartitionScheme, { kind: "multi" }>): string {
  return scheme.dimensions.map((d) => (d.scheme.kind === "static" ? d.scheme.keys[0]! : d.scheme.start)).join("|");
}

/** Sort position of a key: time keys sort as strings; static keys go in their declared order. */
export function partitionPosition(dataset: CompiledDataset): (key: string) => string | number {
  return keyPosition(dataset.partitions);
}
