import { mappedInputKeys, type PartitionMapping, type PartitionScheme } from "@reflow/core";
import type { PartitionState, StateSnapshot } from "@reflow/state";
import { createPlan, effectivePartitionKeys, type PlannableDataset } from "../../src/index.js";

/** A dataset for planner tests: a source without inputs, a dataset with them. */
export function ds(name: string, partitions: PartitionScheme, inputs: [string, PartitionMapping][] = []): PlannableDataset {
  return {
    name,
    kind: inputs.length ? "dataset" : "source",
    partitions,
    fingerprint: `${name}-1`,
    inputs: inputs.map(([dataset, mapping]) => ({ alias: dataset, dataset, mapping })),
  };
}

export interface TestProject {
  readonly datasets: ReadonlyMap<string, PlannableDataset>;
  readonly order: readonly string[];
}

export function projectOf(list: readonly PlannableDataset[]): TestProject {
  return { datasets: new Map(list.map((d) => [d.name, d])), order: list.map((d) => d.name) };
}

/** State as if every partition had been built once, reading exactly what its mapping says. */
export function builtState(project: TestProject, asOf: Date): StateSnapshot {
  const keys = effectivePartitionKeys(project.datasets, project.order, asOf);
  const partitions = new Map<string, Map<string, PartitionState>>();
  let version = 1;
  for (const name of project.order) {
    const d = project.datasets.get(name)!;
    const byKey = new Map<string, PartitionState>();
    for (const key of keys.get(name)!) {
      const inputs: Record<string, Record<string, number>> = {};
      for (const input of d.inputs) {
        const read = mappedInputKeys(input.mapping, key, { input: project.datasets.get(input.dataset)!.partitions, output: d.partitions }, keys.get(input.dataset)!);
        inputs[input.dataset] = Object.fromEntries(read.map((k) => [k, partitions.get(input.dataset)!.get(k)!.liveVersion!]));
      }
      byKey.set(key, { status: "built", liveVersion: version++, fingerprint: d.fingerprint, inputs });
    }
    partitions.set(name, byKey);
  }
  const datasets = new Map(project.order.map((name) => [name, { name, kind: project.datasets.get(name)!.kind, fingerprint: project.datasets.get(name)!.fingerprint }]));
  return { datasets, partitions };
}

/** The plan after rebuilding partitions of one source of a fully built project, as `dataset: ["key reason", …]` in plan order. */
export function invalidatedBy(project: TestProject, asOf: Date, source: string, keys: readonly string[]): Record<string, string[]> {
  const plan = createPlan({ ...project, state: builtState(project, asOf), asOf, restate: new Map([[source, new Set(keys)]]) });
  const byDataset: Record<string, string[]> = {};
  for (const task of plan.tasks) (byDataset[task.dataset] ??= []).push(`${task.partition} ${task.reason}`);
  return byDataset;
}
