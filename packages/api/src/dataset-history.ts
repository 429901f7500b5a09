import { retainedVersions, retentionOf } from "./retention.js";
import { compileProject, loadProjectConfig } from "@reflow/compiler";
import { ReflowError } from "@reflow/core";
import type { PartitionVersionRecord } from "@reflow/state";
import { checkPartitionKey, declaredDataset } from "./declared-dataset.js";
import type { ReflowOptions } from "./reflow-options.js";
import { keptVersions } from "./kept-versions.js";
import { withStorageView } from "./storage-view.js";
import { versionsPastRetention } from "./versions-past-retention.js";

export interface HistoryOptions extends ReflowOptions {
  readonly dataset: string;
  /** Only this partition. */
  readonly partition?: string;
}

/** One kept version of a partition. */
export interface HistoryVersion extends PartitionVersionRecord {
  /** Older than retention allows: the next `reflow gc` deletes it. */
  readonly pastRetention: boolean;
}

export interface DatasetHistory {
  readonly dataset: string;
  readonly retainVersions: number;
  /** By partition, newest version first. */
  readonly versions: readonly HistoryVersion[];
}

/** The versions of a dataset's partitions that are kept, for `reflow history`. Writes nothing. */
export async function datasetHistory(options: HistoryOptions): Promise<DatasetHistory> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const dataset = declaredDataset(project, options.dataset);
  if (options.partition !== undefined) checkPartitionKey(dataset, options.partition, "partition");
  const retainVersions = retainedVersions(retentionOf(project), dataset.name);
  const records = await withStorageView(project.config, async (view) => (view ? keptVersions(view, dataset.name) : []));
  const selected = options.partition === undefined ? records : records.filter((r) => r.partition === options.partition);
  if (options.partition !== undefined && selected.length === 0) {
    throw new ReflowError("REFLOW_UNKNOWN_PARTITION", `${dataset.name} has no built version of partition ${options.partition}`, { subject: dataset.name });
  }
  const versions: HistoryVersion[] = [];
  for (const partition of new Set(selected.map((r) => r.partition))) {
    const mine = selected.filter((r) => r.partition === partition);
    const expired = versionsPastRetention(mine, retainVersions);
    for (const record of mine) versions.push({ ...record, pastRetention: expired.has(record.version) });
  }
  return { dataset: dataset.name, retainVersions, versions };
}
