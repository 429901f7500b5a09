import type { Kysely, Migration } from "kysely";

/**
 * Change categories. `partitions.accepted_fingerprint`: a forward-only apply
 * accepted the live version, built with older code, as up to date under this
 * dataset fingerprint (plan leaves it alone while the code has it).
 * `datasets.metadata`: the applied metadata (description, owner, tags, checks,
 * retries…) as canonical JSON, so a metadata-only edit is recorded without a rebuild.
 */
export const changeCategories: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("partitions").addColumn("accepted_fingerprint", "text").execute();
    await db.schema.alterTable("datasets").addColumn("metadata", "text").execute();
  },
};
