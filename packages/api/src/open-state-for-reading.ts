import { isReflowError, type StateLocation } from "@reflow/core";
import { OLDER_SCHEMA, openStateStore, type StateStore } from "@reflow/state";

/**
 * The state, read-only (`undefined` when there is none yet). A state an older
 * reflow wrote is migrated first: the commands that read before they write
 * (apply, rollback, gc) would migrate it anyway.
 */
export async function openStateForReading(statePath: StateLocation): Promise<StateStore | undefined> {
  try {
    return await openStateStore(statePath, "read");
  } catch (error) {
    if (!isReflowError(error) || error.subject !== OLDER_SCHEMA) throw error;
    await (await openStateStore(statePath, "write"))!.close();
    return openStateStore(statePath, "read");
  }
}
