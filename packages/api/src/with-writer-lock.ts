import type { ProjectConfig } from "@reflow/compiler";
import { openStateStore, type ReconcileResult, type StateWriter } from "@reflow/state";
import type { Warehouse } from "@reflow/core";
import { liveVersionLookup } from "./live-version-lookup.js";
import { openWarehouse } from "./open-warehouse.js";
import type { StorageView } from "./storage-view.js";

/** State and warehouse, writable, with the writer lock held and crashed runs settled. */
export interface WriterSession extends StorageView {
  readonly writer: StateWriter;
  readonly warehouse: Warehouse;
  /** Runs a dead process had left unfinished, settled before `work` ran. */
  readonly reconciled: ReconcileResult;
}

/**
 * Takes the state's writer lock (failing at once if a live process holds it,
 * or after `waitMs`, as apply does), settles runs a dead process left unfinished, and runs
 * `work`; releases everything however it ends.
 */
export async function withWriterLock<T>(config: ProjectConfig, command: string, work: (session: WriterSession) => Promise<T>, waitMs = 0): Promise<T> {
  const store = (await openStateStore(config.state, "write"))!;
  try {
    const lock = await store.lock!.acquire({ command, waitMs });
    let warehouse: Warehouse | undefined;
    try {
      warehouse = (await openWarehouse(config.warehouse, "write"))!;
      const reconciled = await store.writer!.reconcile(liveVersionLookup(warehouse));
      return await work({ state: store.reader, writer: store.writer!, warehouse, reconciled });
    } finally {
      await warehouse?.close();
      await lock.release();
    }
  } finally {
    await store.close();
  }
}
