import os from "node:os";
import Database from "better-sqlite3";
import { planProject } from "@reflow/api";
import { openStateStore } from "@reflow/state";

/**
 * Records every partition of a project as built, writing the state tables
 * directly: the rows `reflow apply` would leave (one succeeded task per
 * partition version, each recording the exact input versions it read), in
 * seconds instead of the time hundreds of thousands of real builds take.
 * The warehouse is left empty: planning never reads it. Callers check that
 * `reflow plan` then reports no changes, so the state is complete.
 */
export async function seedBuiltState(projectDir: string, asOf: string): Promise<{ versions: number }> {
  const { project, plan } = await planProject({ projectDir, asOf: new Date(`${asOf}T00:00:00Z`) });
  if (project.config.state.type !== "sqlite") throw new Error("the benchmarks seed a SQLite state");
  const statePath = project.config.state.path;
  await (await openStateStore(statePath, "write"))!.close(); // creates and migrates the schema

  const db = new Database(statePath);
  try {
    const at = new Date().toISOString();
    // Task and partition times are milliseconds since the epoch (state migration 0008).
    const atMs = Date.parse(at);
    const versionOf = new Map<string, number>();
    const insertTask = db.prepare(
      `insert into tasks (id, run_id, dataset, partition, reason, status, fingerprint, inputs, row_count, content_hash, error, started_at, finished_at, source_version)
       values (?, ?, ?, ?, ?, 'succeeded', ?, ?, 1, ?, null, ?, ?, ?)`,
    );
    const insertPartition = db.prepare(`insert into partitions (dataset, partition, status, live_task_id, last_task_id, updated_at) values (?, ?, 'built', ?, ?, ?)`);
    const insertDataset = db.prepare(`insert into datasets (name, kind, fingerprint, updated_at, last_run_id) values (?, ?, ?, ?, ?)`);
    db.transaction(() => {
      const run = db
        .prepare(`insert into runs (command, as_of, started_at, finished_at, status, host, pid, tasks_total) values ('apply', ?, ?, ?, 'succeeded', ?, ?, ?)`)
        .run(plan.asOf.toISOString(), at, at, os.hostname(), process.pid, plan.tasks.length);
      const runId = Number(run.lastInsertRowid);
      plan.tasks.forEach((task, i) => {
        const id = i + 1;
        const inputs: Record<string, Record<string, number>> = {};
        for (const input of task.inputs) {
          inputs[input.dataset] = Object.fromEntries(input.partitions.map((p) => [p, versionOf.get(`${input.dataset}\0${p}`)!]));
        }
        // Synthetic sources declare sourceVersion: ({ partition }) => partition.key.
        const sourceVersion = project.datasets.get(task.dataset)!.kind === "source" ? `v:${task.partition}` : null;
        insertTask.run(id, runId, task.dataset, task.partition, task.reason, task.fingerprint, JSON.stringify(inputs), "0".repeat(64), atMs, atMs, sourceVersion);
        insertPartition.run(task.dataset, task.partition, id, id, atMs);
        versionOf.set(`${task.dataset}\0${task.partition}`, id);
      });
      for (const d of plan.datasets) insertDataset.run(d.name, d.kind, d.fingerprint, at, runId);
    })();
  } finally {
    db.pragma("journal_mode = DELETE");
    db.close();
  }
  // A writer closing stores the dataset summaries these direct inserts left unstored, as after an apply.
  await (await openStateStore(statePath, "write"))!.close();
  return { versions: plan.tasks.length };
}

