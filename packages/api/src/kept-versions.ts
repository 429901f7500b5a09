import type { PartitionVersionRecord } from "@reflow/state";
import type { StorageView } from "./storage-view.js";

/**
 * The versions both stores agree are kept: recorded as built (and not
 * deleted) in the state, and published and still held by the warehouse.
 */
export async function keptVersions(view: StorageView, dataset: string): Promise<PartitionVersionRecord[]> {
  const held = new Set(
    (await view.warehouse.storedVersions(dataset)).filter((v) => v.state === "live" || v.state === "retired").map((v) => v.version),
  );
  return (await view.state.versionHistory(dataset)).filter((r) => held.has(r.version));
}
