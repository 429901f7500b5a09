import type { CompiledProject } from "@reflow/compiler";

/** How many versions of each partition `reflow gc` keeps, the live one included. */
export interface Retention {
  /** reflow.yaml `retainVersions`: for datasets that do not declare their own, and those no longer declared. */
  readonly retainVersions: number;
  /** Datasets whose declaration sets `retainVersions`, by name. */
  readonly byDataset: Readonly<Record<string, number>>;
}

export function retentionOf(project: CompiledProject): Retention {
  const byDataset: Record<string, number> = {};
  for (const name of project.order) {
    const declared = project.datasets.get(name)!.declaration.retainVersions;
    if (declared !== undefined) byDataset[name] = declared;
  }
  return Object.freeze({ retainVersions: project.config.retainVersions, byDataset: Object.freeze(byDataset) });
}

export function retainedVersions(retention: Retention, dataset: string): number {
  return retention.byDataset[dataset] ?? retention.retainVersions;
}
