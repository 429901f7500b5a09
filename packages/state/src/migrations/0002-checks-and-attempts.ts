import type { Kysely, Migration } from "kysely";

/** Check warnings and retry attempts of tasks; early cutoff; fingerprint manifests. */
export const checksAndAttempts: Migration = {
  async up(db: Kysely<any>) {
    // What each fingerprint was made of (JSON), for `reflow explain`.
    await db.schema
      .createTable("fingerprints")
      .addColumn("fingerprint", "text", (c) => c.primaryKey())
      .addColumn("manifest", "text", (c) => c.notNull())
      .execute();
    // The task that last confirmed the live version still valid for newer inputs (early cutoff); null: the live task.
    await db.schema.alterTable("partitions").addColumn("inputs_task_id", "integer", (c) => c.references("tasks.id")).execute();
    // JSON array of the messages of "warn" checks that failed on the version.
    await db.schema.alterTable("tasks").addColumn("warnings", "text").execute();
    await db.schema.alterTable("tasks").addColumn("attempts", "integer").execute();
    // Sources with sourceVersion(): the version observed when the partition was read.
    await db.schema.alterTable("tasks").addColumn("source_version", "text").execute();
    // Attempts that failed and were retried; the task row holds the last attempt.
    await db.schema
      .createTable("task_attempts")
      .addColumn("task_id", "integer", (c) => c.notNull().references("tasks.id"))
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("started_at", "text", (c) => c.notNull())
      .addColumn("finished_at", "text", (c) => c.notNull())
      .addColumn("error", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("task_attempts_pk", ["task_id", "attempt"])
      .execute();
  },
};
