import { describe, expect, it } from "vitest";
import type { Warehouse } from "@reflow/core";
import type { WorkQueue } from "@reflow/state";
import { runClaimLoop } from "../src/index.js";

const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

/** A queue whose server is down for the first `failures` claims, then has nothing to build. */
function queueDownFor(failures: number, error: unknown = refused) {
  const calls = { claim: 0 };
  const queue = {
    claim: async () => {
      calls.claim += 1;
      if (calls.claim <= failures) throw error;
      return undefined;
    },
    refused: async () => [],
    hasWork: async () => false,
  } as unknown as WorkQueue;
  return { queue, calls };
}

const loop = (queue: WorkQueue, events: string[], retryable?: (error: unknown) => boolean) =>
  runClaimLoop({
    queue,
    datasets: new Map(),
    warehouse: {} as Warehouse,
    projectDir: "/nowhere",
    slots: 1,
    leaseMs: 2_000,
    pollMs: 5,
    retryMs: 5,
    exitWhenIdle: true,
    ...(retryable ? { retryable } : {}),
    onStorageLost: (error) => events.push(`lost: ${(error as Error).message}`),
    onStorageBack: () => events.push("back"),
  });

describe("runClaimLoop when the queue's server goes away", () => {
  it("waits and claims again through a retryable outage, saying once that it began and once that it ended", async () => {
    const { queue, calls } = queueDownFor(3);
    const events: string[] = [];
    expect(await loop(queue, events, (error) => (error as { code?: string }).code === "ECONNREFUSED")).toEqual({ built: 0, failed: 0 });
    expect(calls.claim).toBe(4);
    expect(events).toEqual(["lost: connect ECONNREFUSED 127.0.0.1:5432", "back"]);
  });

  it("ends with any error that is not retryable, as it does without a retryable test", async () => {
    const wrong = new Error('relation "work_queue" does not exist');
    const events: string[] = [];
    await expect(loop(queueDownFor(1, wrong).queue, events, (error) => (error as { code?: string }).code === "ECONNREFUSED")).rejects.toBe(wrong);
    await expect(loop(queueDownFor(1).queue, events)).rejects.toBe(refused);
    expect(events).toEqual([]);
  });
});
