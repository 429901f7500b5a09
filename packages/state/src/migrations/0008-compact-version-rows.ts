import type { Kysely, Migration } from "kysely";
import { epochMillisecondsOf, isoTextOf } from "./migration-dialect.js";

/** The time columns written once per partition version (or per partition, at each new version). */
const VERSION_TIMES: readonly (readonly ["tasks" | "partitions", string, "null" | "not null"])[] = [
  ["tasks", "started_at", "null"],
  ["tasks", "finished_at", "null"],
  ["tasks", "purged_at", "null"],
  ["partitions", "updated_at", "not null"],
];

/**
 * Smaller state per partition version (issue #6). The times of `tasks` and
 * `partitions` become integer milliseconds since the epoch: 6 bytes in SQLite
 * where ISO text took 24, on the two tables that grow with every version (the
 * reader still returns ISO text). `tasks_by_run` is dropped: only `reconcile`
 * looks tasks up by run, once after a crash, and a scan of `tasks` serves it.
 *
 * Each column is replaced (added, filled, checked, dropped, renamed) rather
 * than retyped: SQLite cannot change a column's type. The check proves every
 * time converts back to the text it was, so no time is lost or altered.
 */
export const compactVersionRows: Migration = {
  async up(db: Kysely<any>) {
    for (const [table, column, nullable] of VERSION_TIMES) {
      const milliseconds = `${column}_ms`;
      // SQLite adds a NOT NULL column only with a default; every row gets its time just below.
      await db.schema
        .alterTable(table)
        .addColumn(milliseconds, "bigint", (c) => (nullable === "null" ? c : c.notNull().defaultTo(0)))
        .execute();
      await db
        .updateTable(table)
        .set({ [milliseconds]: epochMillisecondsOf(db, column) })
        .where(column, "is not", null)
        .execute();
      const lost = await db
        .selectFrom(table)
        .select([column, milliseconds])
        .where(column, "is not", null)
        .where((eb) => eb.or([eb(milliseconds, "is", null), eb(isoTextOf(db, milliseconds), "<>", eb.ref(column))]))
        .limit(1)
        .executeTakeFirst();
      if (lost) {
        throw new Error(`${table}.${column} holds ${JSON.stringify(lost[column])}, which is not a time as reflow writes them (ISO 8601 in UTC, to the millisecond)`);
      }
      await db.schema.alterTable(table).dropColumn(column).execute();
      await db.schema.alterTable(table).renameColumn(milliseconds, column).execute();
    }
    await db.schema.dropIndex("tasks_by_run").execute();
  },
};
