import type { ProjectConfig } from "@reflow/compiler";
import type { Warehouse } from "@reflow/core";
import type { StateReader } from "@reflow/state";
import { openStateForReading } from "./open-state-for-reading.js";
import { openWarehouse } from "./open-warehouse.js";

/** State and warehouse as a command sees them, to decide what to do. */
export interface StorageView {
  readonly state: StateReader;
  readonly warehouse: Warehouse;
}

/**
 * Runs `look` on a read-only view of state and warehouse (`undefined` when
 * nothing was built yet), then closes both: deciding and refusing on this
 * view leaves every file byte for byte as it was.
 */
export async function withStorageView<T>(config: ProjectConfig, look: (view: StorageView | undefined) => Promise<T>): Promise<T> {
  const store = await openStateForReading(config.state);
  let warehouse: Warehouse | undefined;
  try {
    warehouse = store ? await openWarehouse(config.warehouse, "read") : undefined;
    return await look(store && warehouse ? { state: store.reader, warehouse } : undefined);
  } finally {
    await warehouse?.close();
    await store?.close();
  }
}
