import { compileProject, loadProjectConfig } from "@reflow/compiler";
import { describeMapping, describeScheme, displayPath } from "@reflow/core";
import type { ReflowOptions } from "./reflow-options.js";

export interface LineageNode {
  readonly name: string;
  readonly kind: "source" | "dataset";
  readonly partitions: string;
  readonly definedAt?: string;
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly alias: string;
  readonly mapping: string;
}

export interface Lineage {
  /** In topological order. */
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
}

/** The project's lineage DAG as plain data. */
export async function projectLineage(options: ReflowOptions = {}): Promise<Lineage> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const nodes = project.order.map((name) => {
    const dataset = project.datasets.get(name)!;
    return {
      name,
      kind: dataset.kind,
      partitions: describeScheme(dataset.partitions),
      ...(dataset.definedAt ? { definedAt: `${displayPath(dataset.definedAt.file)}:${dataset.definedAt.line}` } : {}),
    };
  });
  const edges = project.order.flatMap((name) =>
    project.datasets.get(name)!.inputs.map((input) => ({ from: input.dataset, to: name, alias: input.alias, mapping: describeMapping(input.mapping) })),
  );
  return { nodes, edges };
}
