import type Database from "better-sqlite3";
import { sqliteLockCheck, type LockHolder } from "./state-lock.js";
import type { BuiltTaskRecord, PublishedTaskRecord } from "./state-writer.js";

/**
 * The per-task state writes of an apply as better-sqlite3 statements prepared
 * once. Through kysely each call built, compiled and prepared its query again,
 * which cost a fifth of a one-row apply's CPU. They write exactly the rows the
 * kysely path of `StateWriter` writes (the state tests run both).
 */
export class SqliteTaskStatements {
  private readonly built: Database.Statement;
  private readonly succeeded: Database.Statement;
  private readonly unchangedTask: Database.Statement;
  private readonly unchangedPartition: Database.Statement;
  private readonly live: Database.Statement;
  /** Confirms published tasks, then records built ones, in one transaction; `at`: milliseconds since the epoch. */
  readonly recordPublishedAndBuilt: (published: readonly PublishedTaskRecord[], built: readonly BuiltTaskRecord[], at: number) => void;
  readonly recordUnchanged: (taskId: number, dataset: string, partition: string, inputs: string, at: number) => void;

  /** Run first in each transaction (`fencedBy`): throws if this process no longer holds the writer lock. */
  fence: (() => void) | undefined;

  constructor(private readonly database: Database.Database) {
    this.built = database.prepare(
      `update tasks set status = 'publishing', inputs = ?, row_count = ?, content_hash = ?, warnings = ?, attempts = ?, source_version = ?, finished_at = ? where id = ?`,
    );
    this.succeeded = database.prepare(`update tasks set status = 'succeeded', finished_at = ? where id = ?`);
    this.live = database.prepare(
      `insert into partitions (dataset, partition, status, live_task_id, last_task_id, inputs_task_id, accepted_fingerprint, updated_at)
       values (?, ?, 'built', ?, ?, null, null, ?)
       on conflict (dataset, partition) do update set status = 'built', live_task_id = excluded.live_task_id,
         last_task_id = excluded.last_task_id, inputs_task_id = null, accepted_fingerprint = null, updated_at = excluded.updated_at`,
    );
    this.unchangedTask = database.prepare(`update tasks set status = 'unchanged', inputs = ?, finished_at = ? where id = ?`);
    this.unchangedPartition = database.prepare(
      `update partitions set status = 'built', inputs_task_id = ?, last_task_id = ?, updated_at = ? where dataset = ? and partition = ?`,
    );
    // One transaction function (better-sqlite3 builds several closures per `transaction()` call).
    this.recordPublishedAndBuilt = database.transaction((published: readonly PublishedTaskRecord[], built: readonly BuiltTaskRecord[], at: number) => {
      this.fence?.();
      for (const { taskId, dataset, partition } of published) {
        this.succeeded.run(at, taskId);
        this.live.run(dataset, partition, taskId, taskId, at);
      }
      for (const { taskId, result } of built) {
        this.built.run(
          JSON.stringify(result.inputs),
          result.rowCount,
          result.contentHash,
          result.warnings?.length ? JSON.stringify(result.warnings) : null,
          result.attempts ?? 1,
          result.sourceVersion ?? null,
          at,
          taskId,
        );
      }
    });
    this.recordUnchanged = database.transaction((taskId: number, dataset: string, partition: string, inputs: string, at: number) => {
      this.fence?.();
      this.unchangedTask.run(inputs, at, taskId);
      this.unchangedPartition.run(taskId, taskId, at, dataset, partition);
    });
  }

  /** Fences every transaction of these statements, and of the writer's others on this connection, by the lock `holder` took. */
  fencedBy(holder: LockHolder): void {
    this.fence = sqliteLockCheck(this.database, holder);
  }
}
