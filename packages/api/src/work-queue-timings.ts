import { ReflowError } from "@reflow/core";

/** How claims and polling are timed in distributed runs. */
export interface WorkQueueTimings {
  /** A claim not renewed for this long is presumed dead and its unit claimed again. */
  readonly leaseMs: number;
  readonly claimPollMs: number;
  readonly resultPollMs: number;
}

const DEFAULT_LEASE_MS = 60_000;

/**
 * The lease defaults to 60 s, as the writer lock's (clocks of the machines
 * must agree to well within it); `REFLOW_WORKER_LEASE_MS` overrides it, for
 * tests and for operators who want a dead worker's unit back sooner.
 */
export function workQueueTimings(leaseMs?: number): WorkQueueTimings {
  const fromEnv = process.env.REFLOW_WORKER_LEASE_MS;
  const lease = leaseMs ?? (fromEnv === undefined ? DEFAULT_LEASE_MS : Number(fromEnv));
  if (!Number.isFinite(lease) || lease < 500) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `the worker lease must be at least 500 ms, got ${leaseMs ?? JSON.stringify(fromEnv)}`);
  }
  return { leaseMs: lease, claimPollMs: Math.min(250, lease / 4), resultPollMs: 50 };
}
