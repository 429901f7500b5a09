import type { Kysely, Migration } from "kysely";
import { autoIncrementId } from "./migration-dialect.js";

/**
 * `work_queue`: the units of a distributed run (`apply --distribute`) that
 * `reflow worker` processes claim. Only used with PostgreSQL state, but
 * created on both dialects so the schema is one.
 */
export const workQueue: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("work_queue")
      .addColumn("id", "integer", autoIncrementId(db))
      .addColumn("run_id", "integer", (c) => c.notNull())
      .addColumn("dataset", "text", (c) => c.notNull())
      .addColumn("fingerprint", "text", (c) => c.notNull())
      .addColumn("first_task_id", "integer", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("claimed_by", "text")
      .addColumn("token", "text")
      .addColumn("claims", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("lease_until", "text")
      .addColumn("result", "text")
      .execute();
    await db.schema.createIndex("work_queue_by_run_status").on("work_queue").columns(["run_id", "status"]).execute();
  },
};
