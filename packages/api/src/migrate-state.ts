import { loadProjectConfig } from "@reflow/compiler";
import { isReflowError } from "@reflow/core";
import { LATEST_STATE_MIGRATION, OLDER_SCHEMA, openStateStore, stateLabel } from "@reflow/state";
import type { ReflowOptions } from "./reflow-options.js";

export interface MigrateOutcome {
  /** Where the state is, as messages name it (a path, or a URL without its password and the schema). */
  readonly state: string;
  /** "none": there is no state yet; "current": it was at the latest schema; "migrated": `applied` ran. */
  readonly status: "none" | "current" | "migrated";
  /** The migrations applied, oldest first. */
  readonly applied: readonly string[];
  /** The schema the state is at now, by its last migration (absent with no state). */
  readonly schema?: string;
}

/**
 * Upgrades a state an older reflow wrote to this reflow's schema (`reflow migrate`), every pending
 * migration in one transaction, without compiling the project: so that `plan`, which never
 * writes, can read it. A project with no state is left without one.
 */
export async function migrateState(options: Pick<ReflowOptions, "projectDir"> = {}): Promise<MigrateOutcome> {
  const config = loadProjectConfig(options.projectDir ?? process.cwd());
  const state = stateLabel(config.state);
  try {
    const current = await openStateStore(config.state, "read");
    if (!current) return { state, status: "none", applied: [] };
    await current.close();
    return { state, status: "current", applied: [], schema: LATEST_STATE_MIGRATION };
  } catch (error) {
    if (!isReflowError(error) || error.subject !== OLDER_SCHEMA) throw error;
  }
  const store = (await openStateStore(config.state, "write"))!;
  await store.close();
  // Another process may have migrated it in between: then there was nothing left to apply.
  return { state, status: store.migrated.length > 0 ? "migrated" : "current", applied: store.migrated, schema: LATEST_STATE_MIGRATION };
}
