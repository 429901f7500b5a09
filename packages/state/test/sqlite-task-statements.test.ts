import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { describe, expect, it } from "vitest";
import { openStateStore, StateWriter, type StateDatabase } from "../src/index.js";

const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-fast-")), "state.db");
const asOf = new Date("2024-01-06T00:00:00Z");

/** The same writes through a writer; what the tables then hold, timestamps checked and masked. */
async function record(writer: StateWriter, file: string) {
  const started = Date.now();
  const { runId, taskIds } = await writer.beginRun("apply", asOf, [
    { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
    { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
    { dataset: "daily", partition: "2024-01-01", reason: "missing", fingerprint: "d1" },
    { dataset: "daily", partition: "2024-01-02", reason: "missing", fingerprint: "d1" },
  ]);
  await writer.tasksBuilt([
    { taskId: taskIds[0]!, result: { inputs: {}, rowCount: 3, contentHash: "3-aa", sourceVersion: "v:1" } },
    { taskId: taskIds[1]!, result: { inputs: {}, rowCount: 0, contentHash: "0-00", warnings: ["few rows"], attempts: 2 } },
  ]);
  // Group commit confirms a group in the transaction recording the next one.
  await writer.tasksSucceededAndBuilt(
    [
      { taskId: taskIds[0]!, dataset: "events", partition: "2024-01-01" },
      { taskId: taskIds[1]!, dataset: "events", partition: "2024-01-02" },
    ],
    [{ taskId: taskIds[2]!, result: { inputs: { events: { "2024-01-01": 1 } }, rowCount: 1, contentHash: "1-bb" } }],
  );
  await writer.taskSucceeded(taskIds[2]!, "daily", "2024-01-01");
  await writer.taskFailed(taskIds[3]!, "daily", "2024-01-02", "boom");
  await writer.finishRun(runId, "failed", [{ name: "events", kind: "source", fingerprint: "e1" }]);
  // A second run: a rebuild replaces the live version, and early cutoff keeps one.
  const second = await writer.beginRun("apply", asOf, [
    { dataset: "events", partition: "2024-01-01", reason: "code-changed", fingerprint: "e2" },
    { dataset: "daily", partition: "2024-01-01", reason: "upstream-changed", fingerprint: "d1" },
  ]);
  await writer.tasksBuilt([{ taskId: second.taskIds[0]!, result: { inputs: {}, rowCount: 3, contentHash: "3-aa" } }]);
  await writer.tasksSucceeded([{ taskId: second.taskIds[0]!, dataset: "events", partition: "2024-01-01" }]);
  await writer.taskUnchanged(second.taskIds[1]!, "daily", "2024-01-01", { events: { "2024-01-01": second.taskIds[0]! } });
  await writer.finishRun(second.runId, "succeeded", []);

  const ended = Date.now();
  const db = new Database(file, { readonly: true });
  try {
    // Task and partition times are integer milliseconds since the epoch (migration 0008), taken during the writes.
    const masked = (rows: unknown[]) =>
      rows.map((row) =>
        Object.fromEntries(
          Object.entries(row as Record<string, unknown>).map(([key, value]) => {
            if (!/_at$/.test(key) || value === null) return [key, value];
            expect(Number.isInteger(value) && (value as number) >= started && (value as number) <= ended).toBe(true);
            return [key, "<time>"];
          }),
        ),
      );
    return {
      tasks: masked(db.prepare("select * from tasks order by id").all()),
      partitions: masked(db.prepare("select * from partitions order by dataset, partition").all()),
    };
  } finally {
    db.close();
  }
}

describe("SQLite per-task statements", () => {
  it("write exactly the rows the kysely path writes", async () => {
    const fastFile = tempFile();
    const fast = (await openStateStore(fastFile, "write"))!;
    const viaFast = await record(fast.writer!, fastFile);
    await fast.close();

    // The kysely path: a writer given no SQLite connection, over a migrated state.
    const kyselyFile = tempFile();
    await (await openStateStore(kyselyFile, "write"))!.close();
    const db = new Kysely<StateDatabase>({ dialect: new SqliteDialect({ database: new Database(kyselyFile) }) });
    const viaKysely = await record(new StateWriter(db), kyselyFile);
    await db.destroy();

    expect(viaFast).toEqual(viaKysely);
    expect(viaFast.tasks.map((t) => [t.id, t.status, t.inputs, t.row_count, t.content_hash, t.warnings, t.attempts, t.source_version])).toEqual([
      [1, "succeeded", "{}", 3, "3-aa", null, 1, "v:1"],
      [2, "succeeded", "{}", 0, "0-00", '["few rows"]', 2, null],
      [3, "succeeded", '{"events":{"2024-01-01":1}}', 1, "1-bb", null, 1, null],
      [4, "failed", null, null, null, null, 1, null],
      [5, "succeeded", "{}", 3, "3-aa", null, 1, null],
      [6, "unchanged", '{"events":{"2024-01-01":5}}', null, null, null, null, null],
    ]);
    // Every task that ended has its time; partitions always have one.
    expect(viaFast.tasks.map((t) => t.finished_at)).toEqual(Array(6).fill("<time>"));
    expect(viaFast.partitions.map((p) => p.updated_at)).toEqual(Array(4).fill("<time>"));
    expect(viaFast.partitions.map((p) => [p.dataset, p.partition, p.status, p.live_task_id, p.last_task_id, p.inputs_task_id])).toEqual([
      ["daily", "2024-01-01", "built", 3, 6, 6],
      ["daily", "2024-01-02", "failed", null, 4, null],
      ["events", "2024-01-01", "built", 5, 5, null],
      ["events", "2024-01-02", "built", 2, 2, null],
    ]);
  });

  it("never write inside a kysely transaction another caller has open", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const writer = store.writer!;
    const { runId, taskIds } = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
    ]);
    await writer.taskBuilt(taskIds[0]!, { inputs: {}, rowCount: 1, contentHash: "1-aa" });
    // Started together: taskFailed's kysely transaction awaits between its statements.
    await Promise.all([writer.taskFailed(taskIds[1]!, "events", "2024-01-02", "boom"), writer.taskSucceeded(taskIds[0]!, "events", "2024-01-01")]);
    await writer.finishRun(runId, "failed", []);
    const snapshot = await store.reader.snapshot();
    expect([...snapshot.partitions.get("events")!].map(([key, p]) => [key, p.status, p.liveVersion])).toEqual([
      ["2024-01-01", "built", 1],
      ["2024-01-02", "failed", null],
    ]);
    await store.close();
  });
});
