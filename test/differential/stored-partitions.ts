import path from "node:path";
import { ContentHasher, type ColumnSpec } from "@reflow/core";
import { openSqliteReadOnly } from "@reflow/state";

/** Dataset → partition key → content hash of its live rows. */
export type StoredPartitions = ReadonlyMap<string, ReadonlyMap<string, string>>;

export interface StoredProject {
  /** Hashed from the warehouse's live rows with the core content hash, not taken from the state. */
  readonly partitions: StoredPartitions;
  /** Partitions whose rows in the warehouse do not hash to what the state recorded for their live version. */
  readonly inconsistent: readonly string[];
  /** Partitions the state records as failed. */
  readonly failed: readonly string[];
}

/**
 * What a project's state and warehouse hold: every partition the state
 * knows, each with the hash of the rows the warehouse shows live for it (the
 * view named after the dataset), checked against the hash the state recorded.
 */
export function storedPartitions(projectDir: string, columnsOf: ReadonlyMap<string, readonly ColumnSpec[]>): StoredProject {
  const state = openSqliteReadOnly(path.join(projectDir, ".reflow/state.db"));
  const known = state
    .prepare(`select p.dataset, p.partition, p.status, t.content_hash as hash from partitions p left join tasks t on t.id = p.live_task_id`)
    .all() as { dataset: string; partition: string; status: string; hash: string | null }[];
  state.close();
  const warehouse = openSqliteReadOnly(path.join(projectDir, ".reflow/warehouse.db"));
  const partitions = new Map<string, Map<string, string>>();
  const inconsistent: string[] = [];
  const failed: string[] = [];
  try {
    const hashers = new Map<string, Map<string, ContentHasher>>();
    for (const [dataset, columns] of columnsOf) {
      const byPartition = new Map<string, ContentHasher>();
      hashers.set(dataset, byPartition);
      const exists = warehouse.prepare(`select 1 from sqlite_master where type = 'view' and name = ?`).get(dataset);
      if (!exists) continue;
      for (const row of warehouse.prepare(`select * from "${dataset}"`).all() as Record<string, unknown>[]) {
        const key = String(row._partition);
        (byPartition.get(key) ?? byPartition.set(key, new ContentHasher(columns)).get(key)!).add(row);
      }
    }
    for (const { dataset, partition, status, hash } of known) {
      const columns = columnsOf.get(dataset);
      if (!columns) continue;
      if (status === "failed") failed.push(`${dataset} ${partition}`);
      const stored = (hashers.get(dataset)!.get(partition) ?? new ContentHasher(columns)).digest();
      if (stored !== hash) inconsistent.push(`${dataset} ${partition}: warehouse ${stored}, state ${hash}`);
      (partitions.get(dataset) ?? partitions.set(dataset, new Map()).get(dataset)!).set(partition, stored);
    }
  } finally {
    warehouse.close();
  }
  return { partitions, inconsistent, failed };
}

/** `dataset partition` of every task a run recorded with `status`. */
export function runTasks(projectDir: string, runId: number | undefined, status: string): Set<string> {
  if (runId === undefined) return new Set();
  const state = openSqliteReadOnly(path.join(projectDir, ".reflow/state.db"));
  try {
    const rows = state.prepare(`select dataset, partition from tasks where run_id = ? and status = ?`).all(runId, status) as { dataset: string; partition: string }[];
    return new Set(rows.map((r) => `${r.dataset} ${r.partition}`));
  } finally {
    state.close();
  }
}
