import { sql, type Kysely, type Migration } from "kysely";
import { isPostgres, withoutRowid } from "./migration-dialect.js";

/**
 * `dataset_summaries` (SQLite only): each dataset's summary as one row of the
 * planner's grouped summary query holds it, so that a plan reads 1,000 rows
 * instead of scanning every partition (365,000 in the plan benchmark, about
 * 165 ms). A stored summary is never stale: triggers delete a dataset's row in
 * the transaction of every change to what it aggregates, whoever writes
 * (writer, reconcile, rollback, a hand edit), and only a refill computes one
 * (`dataset-summaries.ts`: when a writer closes; a reader computes the ones it
 * finds missing). The summary aggregates the dataset's partitions and their
 * live tasks' fingerprint and `incomplete`; the task ids it keeps are
 * partition columns. A task's fingerprint, incomplete or id never changes once
 * written, and tasks are never deleted: a trigger deletes every summary if
 * that ever happens rather than find the partitions that reference the task.
 * A new task cannot be live already (foreign key, ids never reused).
 *
 * PostgreSQL gets nothing (the migration is recorded, so both dialects stay
 * at one schema version): its reader reads the state whole and uses no
 * summaries, and a table without its triggers would be one a later reader
 * could trust while every write made it wrong. A PostgreSQL reader that wants
 * summaries needs its own migration with the table and its maintenance.
 */
export const datasetSummaries: Migration = {
  async up(db: Kysely<any>) {
    if (isPostgres(db)) return;
    await withoutRowid(db, db.schema.createTable("dataset_summaries"))
      .addColumn("dataset", "text", (c) => c.notNull())
      .addColumn("partitions", "integer", (c) => c.notNull())
      .addColumn("clean", "integer", (c) => c.notNull())
      .addColumn("first_key", "text", (c) => c.notNull())
      .addColumn("last_key", "text", (c) => c.notNull())
      .addColumn("min_fingerprint", "text")
      .addColumn("max_fingerprint", "text")
      .addColumn("oldest_checked", "integer")
      .addColumn("newest_live", "integer")
      .addPrimaryKeyConstraint("dataset_summaries_pk", ["dataset"])
      .execute();
    // SQLite-only triggers: the schema builder has none (see docs/architecture.md, the migration rules).
    for (const trigger of [
      `create trigger dataset_summaries_partition_inserted after insert on partitions begin
         delete from dataset_summaries where dataset = new.dataset; end`,
      `create trigger dataset_summaries_partition_updated after update on partitions begin
         delete from dataset_summaries where dataset in (old.dataset, new.dataset); end`,
      `create trigger dataset_summaries_partition_deleted after delete on partitions begin
         delete from dataset_summaries where dataset = old.dataset; end`,
      `create trigger dataset_summaries_task_updated after update of id, fingerprint, incomplete on tasks begin
         delete from dataset_summaries; end`,
      `create trigger dataset_summaries_task_deleted after delete on tasks begin
         delete from dataset_summaries; end`,
    ]) {
      await sql.raw(trigger).execute(db);
    }
    // Every dataset's summary, as the planner's query computes them at this schema.
    await sql
      .raw(
        `insert into dataset_summaries (dataset, partitions, clean, first_key, last_key, min_fingerprint, max_fingerprint, oldest_checked, newest_live)
         select p.dataset, count(*),
           count(*) filter (where p.status = 'built' and p.live_task_id is not null and coalesce(t.incomplete, 0) = 0 and p.accepted_fingerprint is null),
           min(p.partition), max(p.partition), min(t.fingerprint), max(t.fingerprint),
           min(coalesce(p.inputs_task_id, p.live_task_id)), max(p.live_task_id)
         from partitions p left join tasks t on t.id = p.live_task_id
         group by p.dataset`,
      )
      .execute(db);
  },
};
