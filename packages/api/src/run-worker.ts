import { compileProject, loadProjectConfig, type CompiledProject } from "@reflow/compiler";
import { ReflowError, type PostgresLocation, type Warehouse } from "@reflow/core";
import { runClaimLoop, type ClaimReport } from "@reflow/engine";
import { claimerId, openStateStore, type RefusedUnits } from "@reflow/state";
import { openWarehouse } from "./open-warehouse.js";
import { requireSharedStorage } from "./require-shared-storage.js";
import { workQueueTimings } from "./work-queue-timings.js";

export interface WorkerOptions {
  /** The project folder (default: the working directory): compiled as the apply compiles it. */
  readonly projectDir?: string;
  /** Units built at once (default: the project's `concurrency`). */
  readonly concurrency?: number;
  /** How long a claim lasts without renewal (default 60 s, or `REFLOW_WORKER_LEASE_MS`). */
  readonly leaseMs?: number;
  /** Return once no running distributed run has a unit left this worker could build. */
  readonly exitWhenIdle?: boolean;
  /** Stops claiming; units in hand are finished and reported. */
  readonly signal?: AbortSignal;
  /** Compiled and connected: about to claim. */
  readonly onReady?: (info: { readonly project: CompiledProject; readonly claimer: string; readonly slots: number }) => void;
  readonly onUnit?: (report: ClaimReport) => void;
  /** Units of a running run this worker's code cannot build (planned with other fingerprints): not claimed. */
  readonly onRefused?: (refused: RefusedUnits, project: CompiledProject) => void;
  /**
   * The state's server stopped answering (restarting, failing over): the worker
   * keeps trying every second instead of exiting. `message` names the server
   * without its password. Then `onStorageBack` once it answers again.
   */
  readonly onStorageLost?: (message: string) => void;
  readonly onStorageBack?: () => void;
}

export interface WorkerSummary {
  readonly built: number;
  readonly failed: number;
}

/**
 * `reflow worker`: compiles the project here, then claims and builds units of
 * distributed runs (`apply --distribute`) from the shared PostgreSQL state,
 * writing finished versions into the shared warehouse. It never records or
 * publishes anything: the apply that started the run does. A unit planned
 * with a fingerprint this worker's code does not have is never claimed.
 */
export async function runWorker(options: WorkerOptions = {}): Promise<WorkerSummary> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  requireSharedStorage(project.config, "reflow worker");
  const slots = options.concurrency ?? project.config.concurrency;
  if (!Number.isInteger(slots) || slots < 1) throw new ReflowError("REFLOW_INVALID_ARGUMENT", `concurrency must be a whole number of at least 1, got ${slots}`);
  const timings = workQueueTimings(options.leaseMs);
  const store = (await openStateStore(project.config.state, "write"))!;
  let warehouse: Warehouse | undefined;
  try {
    warehouse = (await openWarehouse(project.config.warehouse, "write"))!;
    // Loaded here, not at the top: only PostgreSQL projects get this far, and the SQLite default never loads pg.
    const { isTransientPostgresError, storageUnavailable } = await import("@reflow/postgres");
    const state = project.config.state as PostgresLocation;
    options.onReady?.({ project, claimer: claimerId(), slots });
    return await runClaimLoop({
      queue: store.workQueue!,
      datasets: project.datasets,
      warehouse,
      projectDir: project.config.projectDir,
      slots,
      leaseMs: timings.leaseMs,
      pollMs: timings.claimPollMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.exitWhenIdle ? { exitWhenIdle: true } : {}),
      ...(options.onUnit ? { onUnit: options.onUnit } : {}),
      ...(options.onRefused ? { onRefused: (refused: RefusedUnits) => options.onRefused!(refused, project) } : {}),
      retryable: isTransientPostgresError,
      ...(options.onStorageLost ? { onStorageLost: (error: unknown) => options.onStorageLost!(storageUnavailable({ url: state.url, role: "state" }, error).message) } : {}),
      ...(options.onStorageBack ? { onStorageBack: options.onStorageBack } : {}),
    });
  } finally {
    await warehouse?.close();
    await store.close();
  }
}
