import type { Kysely, Migration } from "kysely";

/**
 * `tasks.incomplete`: 1 when the version was built before its partition was
 * complete (`--include-incomplete`), so the planner builds it again once it is
 * (reason `incomplete`). Null for every version built before this migration: complete.
 */
export const partitionBatches: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("tasks").addColumn("incomplete", "integer").execute();
  },
};
