import type { Kysely, Migration } from "kysely";
import { autoIncrementId, withoutRowid } from "./migration-dialect.js";

export const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("runs")
      .addColumn("id", "integer", autoIncrementId(db))
      .addColumn("command", "text", (c) => c.notNull())
      .addColumn("as_of", "text", (c) => c.notNull())
      .addColumn("started_at", "text", (c) => c.notNull())
      .addColumn("finished_at", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("host", "text", (c) => c.notNull())
      .addColumn("pid", "integer", (c) => c.notNull())
      .addColumn("tasks_total", "integer", (c) => c.notNull())
      .execute();
    // AUTOINCREMENT: task ids are partition version ids and must never be reused.
    await db.schema
      .createTable("tasks")
      .addColumn("id", "integer", autoIncrementId(db))
      .addColumn("run_id", "integer", (c) => c.notNull().references("runs.id"))
      .addColumn("dataset", "text", (c) => c.notNull())
      .addColumn("partition", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("fingerprint", "text", (c) => c.notNull())
      .addColumn("inputs", "text")
      .addColumn("row_count", "integer")
      .addColumn("content_hash", "text")
      .addColumn("error", "text")
      .addColumn("started_at", "text")
      .addColumn("finished_at", "text")
      .execute();
    await db.schema.createIndex("tasks_by_run").on("tasks").columns(["run_id"]).execute();
    await db.schema.createIndex("tasks_by_partition").on("tasks").columns(["dataset", "partition"]).execute();
    await withoutRowid(db, db.schema.createTable("partitions"))
      .addColumn("dataset", "text", (c) => c.notNull())
      .addColumn("partition", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("live_task_id", "integer", (c) => c.references("tasks.id"))
      .addColumn("last_task_id", "integer", (c) => c.notNull().references("tasks.id"))
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("partitions_pk", ["dataset", "partition"])
      .execute();
    await db.schema
      .createTable("datasets")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("fingerprint", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addColumn("last_run_id", "integer", (c) => c.notNull())
      .execute();
    // At most one row per lock name: inserting is how a lock is taken.
    await db.schema
      .createTable("locks")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("host", "text", (c) => c.notNull())
      .addColumn("pid", "integer", (c) => c.notNull())
      .addColumn("command", "text", (c) => c.notNull())
      .addColumn("acquired_at", "text", (c) => c.notNull())
      .addColumn("lease_expires_at", "text", (c) => c.notNull())
      .execute();
  },
};
