import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { describe, expect, it } from "vitest";
import { SUMMARIES_SQL, type SummaryRow } from "../src/dataset-summaries.js";
import { stateMigrationProvider } from "../src/migrations/index.js";
import { openStateStore, type DatasetSummary, type StateStore } from "../src/index.js";

const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-summaries-")), "state.db");
const asOf = new Date("2024-01-06T00:00:00Z");
const DATASETS = ["daily", "events", "other"];

/** What a row of the grouped summary query means to the planner (rollbacks are counted apart). */
const summaryOf = ([, partitions, clean, firstKey, lastKey, min, max, oldestChecked, newestLive]: SummaryRow, rollbacks = 0): DatasetSummary => ({
  partitions,
  clean,
  firstKey,
  lastKey,
  fingerprint: min !== null && min === max ? min : null,
  oldestChecked,
  newestLive,
  rollbacks,
});

/** The stored summary rows and the ones the grouped query computes from the partitions now, by dataset. */
function rowsOf(file: string): { stored: Map<string, SummaryRow>; computed: Map<string, SummaryRow> } {
  const db = new Database(file, { readonly: true });
  try {
    const byDataset = (rows: SummaryRow[]) => new Map(rows.map((row) => [row[0], row]));
    return {
      stored: byDataset(db.prepare("select * from dataset_summaries order by dataset").raw(true).all() as SummaryRow[]),
      computed: byDataset(db.prepare(SUMMARIES_SQL).raw(true).all() as SummaryRow[]),
    };
  } finally {
    db.close();
  }
}

/**
 * Checks that the datasets with a stored summary are exactly `stored` and each
 * equals what the grouped query computes (never stale), and that the reader's
 * summaries equal the computed ones: stored or computed on demand alike.
 */
async function expectSummaries(file: string, store: StateStore, stored: readonly string[], rollbacks: Readonly<Record<string, number>> = {}): Promise<void> {
  const rows = rowsOf(file);
  expect([...rows.stored.keys()]).toEqual(stored);
  for (const [dataset, row] of rows.stored) expect(row).toEqual(rows.computed.get(dataset));
  const snapshot = await store.reader.snapshot({ onDemand: true });
  for (const dataset of DATASETS) {
    const row = rows.computed.get(dataset);
    expect(snapshot.summaries!.get(dataset)).toEqual(row && summaryOf(row, rollbacks[dataset]));
  }
}

describe("stored dataset summaries", () => {
  it("after each kind of write read as the grouped query computes them, and a closing writer stores them", async () => {
    const file = tempFile();
    // A first apply: builds (group commit), a failure.
    let store = (await openStateStore(file, "write"))!;
    let writer = store.writer!;
    const first = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
      { dataset: "daily", partition: "2024-01-01", reason: "missing", fingerprint: "d1", incomplete: true },
      { dataset: "daily", partition: "2024-01-02", reason: "missing", fingerprint: "d1" },
      { dataset: "other", partition: "2024-01-01", reason: "missing", fingerprint: "o1" },
    ]);
    const [e1, e2, d1, d2, o1] = first.taskIds as [number, number, number, number, number];
    await writer.tasksBuilt([
      { taskId: e1, result: { inputs: {}, rowCount: 1, contentHash: "1-a" } },
      { taskId: e2, result: { inputs: {}, rowCount: 1, contentHash: "1-b" } },
    ]);
    await writer.tasksSucceededAndBuilt(
      [
        { taskId: e1, dataset: "events", partition: "2024-01-01" },
        { taskId: e2, dataset: "events", partition: "2024-01-02" },
      ],
      [
        { taskId: d1, result: { inputs: { events: { "2024-01-01": e1 } }, rowCount: 1, contentHash: "1-c" } },
        { taskId: o1, result: { inputs: {}, rowCount: 1, contentHash: "1-d" } },
      ],
    );
    await writer.tasksSucceeded([
      { taskId: d1, dataset: "daily", partition: "2024-01-01" },
      { taskId: o1, dataset: "other", partition: "2024-01-01" },
    ]);
    await writer.taskFailed(d2, "daily", "2024-01-02", "boom");
    await writer.finishRun(first.runId, "failed", []);
    // Nothing stored until the writer closes: the reader computes every summary.
    await expectSummaries(file, store, []);
    await store.close();
    expect([...rowsOf(file).stored.values()]).toEqual([
      ["daily", 2, 0, "2024-01-01", "2024-01-02", "d1", "d1", d1, d1],
      ["events", 2, 2, "2024-01-01", "2024-01-02", "e1", "e1", e1, e2],
      ["other", 1, 1, "2024-01-01", "2024-01-01", "o1", "o1", o1, o1],
    ]);

    // A second apply: forward-only acceptance, early cutoff, a rebuild.
    store = (await openStateStore(file, "write"))!;
    writer = store.writer!;
    await expectSummaries(file, store, DATASETS);
    const second = await writer.beginRun(
      "apply",
      asOf,
      [
        { dataset: "events", partition: "2024-01-02", reason: "code-changed", fingerprint: "e2" },
        { dataset: "daily", partition: "2024-01-01", reason: "upstream-changed", fingerprint: "d1" },
      ],
      new Map(),
      [{ dataset: "events", fingerprint: "e2", partitions: ["2024-01-01"] }],
    );
    const [e2b, d1b] = second.taskIds as [number, number];
    // Accepting a fingerprint changes events; recording tasks changes no summary.
    await expectSummaries(file, store, ["daily", "other"]);
    await writer.taskUnchanged(d1b, "daily", "2024-01-01", { events: { "2024-01-01": e1 } });
    await expectSummaries(file, store, ["other"]);
    await writer.taskBuilt(e2b, { inputs: {}, rowCount: 2, contentHash: "2-e" });
    await expectSummaries(file, store, ["other"]);
    await writer.taskSucceeded(e2b, "events", "2024-01-02");
    await writer.finishRun(second.runId, "succeeded", []);
    await expectSummaries(file, store, ["other"]);
    await store.close();
    expect([...rowsOf(file).stored.values()]).toEqual([
      ["daily", 2, 0, "2024-01-01", "2024-01-02", "d1", "d1", d1b, d1],
      ["events", 2, 1, "2024-01-01", "2024-01-02", "e1", "e2", e1, e2b],
      ["other", 1, 1, "2024-01-01", "2024-01-01", "o1", "o1", o1, o1],
    ]);

    // A rollback of events/2024-01-02 to its first version, unpinned, then gc purges the replaced version.
    store = (await openStateStore(file, "write"))!;
    writer = store.writer!;
    const rollback = await writer.beginRollback("rollback", [
      { dataset: "events", partition: "2024-01-02", fromVersion: e2b, toVersion: e2, codeFingerprint: "e2", pinned: true },
    ]);
    await expectSummaries(file, store, DATASETS);
    await writer.rollbackPublished(rollback);
    await expectSummaries(file, store, ["daily", "other"], { events: 1 });
    await writer.unpin("events", ["2024-01-02"]);
    await writer.versionsPurged([e2b]);
    await expectSummaries(file, store, ["daily", "other"], { events: 1 });
    await store.close();
    await expectSummaries(file, (store = (await openStateStore(file, "read"))!), DATASETS, { events: 1 });
    await store.close();
    expect(rowsOf(file).stored.get("events")).toEqual(["events", 2, 1, "2024-01-01", "2024-01-02", "e1", "e1", e1, e2]);
  });

  it("are computed by readers while a writer that never closes (as after a crash) left them missing, and stored by the next writer", async () => {
    const file = tempFile();
    let store = (await openStateStore(file, "write"))!;
    const first = await store.writer!.beginRun(
      "apply",
      asOf,
      DATASETS.map((dataset) => ({ dataset, partition: "2024-01-01", reason: "missing", fingerprint: `${dataset}1` })),
    );
    for (const [i, taskId] of first.taskIds.entries()) {
      await store.writer!.taskBuilt(taskId, { inputs: {}, rowCount: 1, contentHash: "1-a" });
      await store.writer!.taskSucceeded(taskId, DATASETS[i]!, "2024-01-01");
    }
    await store.writer!.finishRun(first.runId, "succeeded", []);
    await store.close();

    // The writer that dies: one dataset changed (computed alone), then a second (most missing: one grouped scan).
    const dying = (await openStateStore(file, "write"))!;
    const run = await dying.writer!.beginRun("apply", asOf, [
      { dataset: "other", partition: "2024-01-02", reason: "missing", fingerprint: "other1" },
      { dataset: "daily", partition: "2024-01-02", reason: "missing", fingerprint: "daily1" },
    ]);
    const [o2, d2] = run.taskIds as [number, number];
    await dying.writer!.taskBuilt(o2, { inputs: {}, rowCount: 1, contentHash: "1-b" });
    await dying.writer!.taskSucceeded(o2, "other", "2024-01-02");
    const reader = (await openStateStore(file, "read"))!;
    await expectSummaries(file, reader, ["daily", "events"]);
    await dying.writer!.taskBuilt(d2, { inputs: {}, rowCount: 1, contentHash: "1-c" });
    await dying.writer!.taskSucceeded(d2, "daily", "2024-01-02");
    await expectSummaries(file, reader, ["events"]);
    await reader.close();

    // The next writer settles the dead run (reconcile writes through kysely) and stores every summary when it closes.
    store = (await openStateStore(file, "write"))!;
    const settled = await store.writer!.reconcile(async () => undefined);
    expect(settled).toEqual({ runs: [run.runId], published: 0, interrupted: 0 });
    await expectSummaries(file, store, ["events"]);
    await store.close();
    expect([...rowsOf(file).stored.values()]).toEqual([
      ["daily", 2, 2, "2024-01-01", "2024-01-02", "daily1", "daily1", first.taskIds[0], d2],
      ["events", 1, 1, "2024-01-01", "2024-01-01", "events1", "events1", first.taskIds[1], first.taskIds[1]],
      ["other", 2, 2, "2024-01-01", "2024-01-02", "other1", "other1", first.taskIds[2], o2],
    ]);
    await dying.close();
  });

  it("a refill that fails in SQLite (a full disk, an I/O error) leaves them missing and the writer closes without an error", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const run = await store.writer!.beginRun("apply", asOf, [{ dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" }]);
    await store.writer!.taskBuilt(run.taskIds[0]!, { inputs: {}, rowCount: 1, contentHash: "1-a" });
    await store.writer!.taskSucceeded(run.taskIds[0]!, "events", "2024-01-01");
    await store.writer!.finishRun(run.runId, "succeeded", []);
    // The writer's own connection (a temporary trigger exists only there) fails every insert of a summary.
    const connection = (store.reader as unknown as { database: Database.Database }).database;
    connection.exec("create temp trigger refill_fails before insert on dataset_summaries begin select raise(abort, 'disk I/O error'); end");
    await expect(store.close()).resolves.toBeUndefined();
    expect(rowsOf(file).stored.size).toBe(0);
    const reader = (await openStateStore(file, "read"))!;
    await expectSummaries(file, reader, []);
    await reader.close();
  });

  it("are deleted by the triggers exactly for the datasets a change to partitions or live tasks touches", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const run = await store.writer!.beginRun(
      "apply",
      asOf,
      DATASETS.map((dataset) => ({ dataset, partition: "2024-01-01", reason: "missing", fingerprint: "f1" })),
    );
    for (const [i, taskId] of run.taskIds.entries()) {
      await store.writer!.taskBuilt(taskId, { inputs: {}, rowCount: 1, contentHash: "1-a" });
      await store.writer!.taskSucceeded(taskId, DATASETS[i]!, "2024-01-01");
    }
    // A task no partition refers to, to delete.
    const pending = (await store.writer!.beginRun("apply", asOf, [{ dataset: "events", partition: "2024-01-09", reason: "missing", fingerprint: "f1" }])).taskIds[0]!;
    await store.close();
    const cases: [string, string[]][] = [
      // Columns the summary does not read: nothing deleted.
      ["update tasks set status = 'succeeded', purged_at = 1, inputs = '{}', row_count = 2 where id = 1", DATASETS],
      ["update partitions set updated_at = 1 where dataset = 'events'", ["daily", "other"]],
      ["insert into partitions (dataset, partition, status, live_task_id, last_task_id, updated_at) values ('daily', '2024-01-02', 'failed', null, 1, 1)", ["events", "other"]],
      ["update partitions set status = 'built' where dataset = 'daily' and partition = '2024-01-02'", ["events", "other"]],
      // Moved from one dataset to another: both deleted.
      ["update partitions set dataset = 'events' where dataset = 'daily' and partition = '2024-01-02'", ["other"]],
      ["delete from partitions where dataset = 'events' and partition = '2024-01-02'", ["daily", "other"]],
      // A task's fingerprint, completeness or id (never changed once written), or a deleted task: every summary.
      ["update tasks set fingerprint = 'f2' where id = 1", []],
      ["update tasks set incomplete = 1 where id = 2", []],
      [`delete from tasks where id = ${pending}`, []],
    ];
    for (const [change, expected] of cases) {
      const db = new Database(file);
      try {
        db.pragma("foreign_keys = ON");
        db.exec(change);
        expect([change, db.prepare("select dataset from dataset_summaries order by dataset").pluck().all()]).toEqual([change, expected]);
      } finally {
        db.close();
      }
      // A writer closing stores every summary again, each as the grouped query computes it.
      await (await openStateStore(file, "write"))!.close();
      const { stored, computed } = rowsOf(file);
      expect(stored).toEqual(computed);
      expect(stored.size).toBe(3);
    }
  });

  it("are filled by migration 0009 for every dataset of a state written at 0008, as the grouped query computed them", async () => {
    const file = tempFile();
    const database = new Database(file);
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
    const migrator = new Migrator({ db, provider: stateMigrationProvider });
    expect((await migrator.migrateTo("0008-compact-version-rows")).error).toBeUndefined();
    // Rows as a 0008 writer left them: a rebuild, a failure, an early cutoff, an incomplete and an accepted version, a rollback.
    await db.insertInto("runs").values({ command: "apply", as_of: "2024-01-06T00:00:00.000Z", started_at: "x", finished_at: "x", status: "succeeded", host: "h", pid: 1, tasks_total: 6 }).execute();
    const task = (dataset: string, partition: string, fingerprint: string, status: string, incomplete: number | null = null) =>
      ({ run_id: 1, dataset, partition, reason: "missing", status, fingerprint, inputs: "{}", finished_at: 1, incomplete });
    await db
      .insertInto("tasks")
      .values([
        task("events", "2024-01-01", "e1", "succeeded"),
        task("events", "2024-01-01", "e2", "succeeded"),
        task("events", "2024-01-02", "e2", "succeeded"),
        task("daily", "2024-01-01", "d1", "succeeded", 1),
        task("daily", "2024-01-01", "d1", "unchanged"),
        task("daily", "2024-01-02", "d1", "failed"),
      ])
      .execute();
    const partition = (dataset: string, key: string, status: string, live: number | null, last: number, inputs: number | null = null, accepted: string | null = null) =>
      ({ dataset, partition: key, status, live_task_id: live, last_task_id: last, inputs_task_id: inputs, accepted_fingerprint: accepted, updated_at: 1 });
    await db
      .insertInto("partitions")
      .values([
        partition("events", "2024-01-01", "built", 1, 2, null, "e3"),
        partition("events", "2024-01-02", "built", 3, 3),
        partition("daily", "2024-01-01", "built", 4, 5, 5),
        partition("daily", "2024-01-02", "failed", null, 6),
      ])
      .execute();
    await db.insertInto("rollbacks").values({ run_id: 1, dataset: "events", partition: "2024-01-01", from_version: 2, to_version: 1, code_fingerprint: "e2", pinned: 0, status: "succeeded" }).execute();
    const before = database.prepare(SUMMARIES_SQL).raw(true).all() as SummaryRow[];
    expect(before).toEqual([
      ["daily", 2, 0, "2024-01-01", "2024-01-02", "d1", "d1", 5, 4],
      ["events", 2, 1, "2024-01-01", "2024-01-02", "e1", "e2", 1, 3],
    ]);

    // The migration alone (no writer closes after it) stores them.
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(database.prepare("select * from dataset_summaries order by dataset").raw(true).all()).toEqual(before);
    await db.destroy();
    const store = (await openStateStore(file, "read"))!;
    const snapshot = await store.reader.snapshot({ onDemand: true });
    expect(snapshot.summaries!.get("events")).toEqual(summaryOf(before[1]!, 1));
    expect(snapshot.summaries!.get("daily")).toEqual(summaryOf(before[0]!));
    await store.close();
  });
});
