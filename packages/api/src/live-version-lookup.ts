import type { Warehouse } from "@reflow/core";

/** The warehouse's live version of a partition, one query per dataset: what `reconcile` settles crashed runs with. */
export function liveVersionLookup(warehouse: Warehouse): (dataset: string, partition: string) => Promise<number | undefined> {
  const cache = new Map<string, Promise<Map<string, number>>>();
  return async (dataset, partition) => {
    let versions = cache.get(dataset);
    if (!versions) cache.set(dataset, (versions = warehouse.liveVersions(dataset)));
    return (await versions).get(partition);
  };
}
