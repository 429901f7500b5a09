import { codeFingerprintOf, runWorker, UNPARTITIONED_KEY, type ClaimReport } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { formatWarnings } from "../format/compile-warnings.js";
import { plural } from "../terminal.js";

export interface WorkerCommandOptions extends GlobalOptions {
  readonly concurrency?: number;
  /** Seconds. */
  readonly lease?: number;
  readonly exitWhenIdle?: boolean;
}

/**
 * `reflow worker`: builds units of distributed runs (`apply --distribute`)
 * until Ctrl-C (or, with --exit-when-idle, until there is nothing left for
 * it). One line per unit on stdout; refusals on stderr.
 */
export async function workerCommand(options: WorkerCommandOptions): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.stderr.write("\nStopped at once; units in hand are claimed again once their lease runs out.\n");
      process.exit(130);
    }
    process.stderr.write("\nStopping: finishing the units in hand (Ctrl-C again to stop at once)…\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    const summary = await runWorker({
      projectDir: options.project,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.lease !== undefined ? { leaseMs: options.lease * 1000 } : {}),
      ...(options.exitWhenIdle ? { exitWhenIdle: true } : {}),
      signal: controller.signal,
      onReady: ({ project, claimer, slots }) => {
        process.stderr.write(formatWarnings(project.warnings));
        process.stdout.write(`Worker ${claimer}: ${plural(project.datasets.size, "dataset")}, ${plural(slots, "unit")} at a time; waiting for distributed runs.\n`);
      },
      onUnit: (report) => process.stdout.write(`${unitLine(report)}\n`),
      onStorageLost: (message) => process.stderr.write(`${message}; trying again every second (units in hand are built again elsewhere once their lease runs out)\n`),
      onStorageBack: () => process.stderr.write("The state's server answers again; claiming.\n"),
      onRefused: (refused, project) => {
        const mine = project.datasets.get(refused.dataset);
        const theirs = codeFingerprintOf(refused.fingerprint);
        const why = !mine
          ? `the run builds it with fingerprint ${short(theirs)}, this worker's project does not declare it`
          : mine.fingerprint === theirs
            ? `its code is the same, but the datasets it reads (${[...new Set(mine.inputs.map((i) => i.dataset))].join(", ")}) have other columns in this worker's code`
            : `the run builds it with fingerprint ${short(theirs)}, this worker's code has ${short(mine.fingerprint)}`;
        process.stderr.write(`refused ${plural(refused.units, "unit")} of ${refused.dataset} in run #${refused.runId}: ${why}. Give this worker the same code as the apply's.\n`);
      },
    });
    process.stdout.write(`Worker stopped: ${plural(summary.built, "unit")} built, ${summary.failed.toLocaleString("en-US")} failed.\n`);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** `built events 2024-01-03 (run #4, version 17, 3 rows, 0.12s)`; a batch names its first and last partition. */
function unitLine({ unit, builds, outcome, ms, reported }: ClaimReport): string {
  const keys = builds.length === 1 ? showKey(builds[0]!.partition) : `${builds[0]!.partition} … ${builds.at(-1)!.partition}`;
  const versions = builds.length === 1 ? `version ${builds[0]!.taskId}` : `versions ${builds[0]!.taskId}–${builds.at(-1)!.taskId}`;
  const again = unit.claims > 1 ? ", claimed again after a lease ran out" : "";
  const where = `run #${unit.runId}, ${versions}${again}`;
  if (!reported) return `lost ${unit.dataset} ${keys} (${where}): the claim's lease ran out before the result was reported; another claimer's result counts`;
  if (outcome.status === "failed") return `failed ${unit.dataset} ${keys} (${where}): ${outcome.errors[0]}`;
  const rows = outcome.results.reduce((sum, r) => sum + r.rowCount, 0);
  return `built ${unit.dataset} ${keys} (${where}, ${plural(rows, "row")}, ${(ms / 1000).toFixed(2)}s)`;
}

function short(fingerprint: string): string {
  return fingerprint.slice(0, 12);
}

function showKey(partition: string): string {
  return partition === UNPARTITIONED_KEY ? "(unpartitioned)" : partition;
}
