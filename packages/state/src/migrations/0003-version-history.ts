import type { Kysely, Migration } from "kysely";
import { autoIncrementId } from "./migration-dialect.js";

/**
 * History and rollback. `rollbacks` records every partition a `reflow
 * rollback` republished, and is how the planner knows a live version was put
 * back on purpose; `tasks.purged_at` records the versions `reflow gc` deleted.
 */
export const versionHistory: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("rollbacks")
      .addColumn("id", "integer", autoIncrementId(db))
      .addColumn("run_id", "integer", (c) => c.notNull().references("runs.id"))
      .addColumn("dataset", "text", (c) => c.notNull())
      .addColumn("partition", "text", (c) => c.notNull())
      .addColumn("from_version", "integer", (c) => c.references("tasks.id"))
      .addColumn("to_version", "integer", (c) => c.notNull().references("tasks.id"))
      .addColumn("code_fingerprint", "text", (c) => c.notNull())
      .addColumn("pinned", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("rollbacks_by_partition").on("rollbacks").columns(["dataset", "partition"]).execute();
    await db.schema.alterTable("tasks").addColumn("purged_at", "text").execute();
  },
};
