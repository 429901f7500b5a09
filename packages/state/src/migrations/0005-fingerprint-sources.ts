import type { Kysely, Migration } from "kysely";

/**
 * The printed source of every piece of code a fingerprint covers, keyed by its
 * canonical hash, so that `plan` can show what changed since a partition was
 * built. Keyed by hash, a piece of code is stored once however many runs use it.
 */
export const fingerprintSources: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("fingerprint_sources")
      .addColumn("hash", "text", (c) => c.primaryKey())
      .addColumn("source", "text", (c) => c.notNull())
      .execute();
  },
};
