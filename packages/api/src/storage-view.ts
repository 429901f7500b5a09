import { existsSync } from "node:fs";
import type { ProjectConfig } from "@reflow/compiler";
import type { Warehouse } from "@reflow/core";
import { recoverHotJournal, type StateReader } from "@reflow/state";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";
import { openStateForReading } from "./open-state-for-reading.js";

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
  const hasWarehouse = store !== undefined && existsSync(config.warehouse.path);
  if (hasWarehouse) recoverHotJournal(config.warehouse.path);
  const warehouse = hasWarehouse ? new SqliteWarehouse({ path: config.warehouse.path, readOnly: true }) : undefined;
  try {
    return await look(store && warehouse ? { state: store.reader, warehouse } : undefined);
  } finally {
    await warehouse?.close();
    await store?.close();
  }
}
