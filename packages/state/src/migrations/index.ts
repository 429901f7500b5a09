import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./0001-initial.js";
import { checksAndAttempts } from "./0002-checks-and-attempts.js";
import { versionHistory } from "./0003-version-history.js";
import { changeCategories } from "./0004-change-categories.js";
import { fingerprintSources } from "./0005-fingerprint-sources.js";
import { partitionBatches } from "./0006-partition-batches.js";
import { workQueue } from "./0007-work-queue.js";
import { compactVersionRows } from "./0008-compact-version-rows.js";
import { datasetSummaries } from "./0009-dataset-summaries.js";

/** Every state migration, in order. Append only: never edit or renumber a released one. */
export const STATE_MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  "0001-initial": initial,
  "0002-checks-and-attempts": checksAndAttempts,
  "0003-version-history": versionHistory,
  "0004-change-categories": changeCategories,
  "0005-fingerprint-sources": fingerprintSources,
  "0006-partition-batches": partitionBatches,
  "0007-work-queue": workQueue,
  "0008-compact-version-rows": compactVersionRows,
  "0009-dataset-summaries": datasetSummaries,
});

export const stateMigrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...STATE_MIGRATIONS };
  },
};
