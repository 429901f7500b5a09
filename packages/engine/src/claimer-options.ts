import type { Warehouse } from "@reflow/core";
import type { WorkQueue } from "@reflow/state";
import type { ExecutableDataset } from "./execute-plan.js";

/** What every process that claims units from the work queue needs: a worker's claim loop and the coordinator's own slots alike. */
export interface ClaimerOptions {
  readonly queue: WorkQueue;
  /** This process's compiled datasets: it claims only units planned with exactly their fingerprints. */
  readonly datasets: ReadonlyMap<string, ExecutableDataset>;
  readonly warehouse: Warehouse;
  readonly projectDir: string;
  /** Units built at once. */
  readonly slots: number;
  /** How long a claim lasts without renewal; renewed every quarter of it while building. */
  readonly leaseMs: number;
}
