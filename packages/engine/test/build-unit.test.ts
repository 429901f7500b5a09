import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsOf, daily, source, type Warehouse } from "@reflow/core";
import { buildUnit, type ExecutableDataset } from "../src/index.js";

const events = source("events", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ day: z.string() }),
  read: () => {
    throw new Error("rate limited");
  },
});
const dataset: ExecutableDataset = {
  name: "events",
  kind: "source",
  partitions: events.partitions,
  columns: columnsOf(events.schema, "events"),
  fingerprint: "events-1",
  inputs: [],
  declaration: events,
  retries: { attempts: 5, backoff: "fixed", initialDelayMs: 1, maxDelayMs: 1 },
};

describe("buildUnit", () => {
  it("counts only the attempts that ran when a retry wait is interrupted (Ctrl-C)", async () => {
    const controller = new AbortController();
    const retries: number[] = [];
    const outcome = await buildUnit({
      dataset,
      builds: [{ taskId: 1, partition: "2024-01-01", inputs: {} }],
      tables: new Map(),
      // The read throws before anything is written.
      warehouse: {} as Warehouse,
      projectDir: "/nowhere",
      signal: controller.signal,
      onRetry: async (failure) => {
        retries.push(failure.attempt);
        // Aborted as the wait before the third attempt begins.
        if (failure.attempt === 2) controller.abort();
      },
    });
    const error = 'REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-01: read threw: rate limited';
    expect(retries).toEqual([1, 2]);
    expect(outcome).toEqual({
      status: "failed",
      errors: [`${error} (after 2 attempts)`],
      attempts: 2,
      failedAttempts: [
        { attempt: 1, startedAt: expect.any(String), errors: [error] },
        { attempt: 2, startedAt: expect.any(String), errors: [error] },
      ],
    });
  });

  it("lets the event loop turn between batches of a long partition, so timers (the lock's heartbeat), signals and I/O run", async () => {
    // 5,000 rows of a source whose generator works synchronously for 15 ms every 500 rows: 150 ms in all,
    // written by a warehouse whose writes resolve at once (as better-sqlite3's do).
    const ticks = source("ticks", {
      partitions: daily({ start: "2024-01-01" }),
      schema: z.object({ n: z.number() }),
      read: function* () {
        for (let n = 0; n < 5_000; n += 1) {
          if (n % 500 === 0) busyFor(15);
          yield { n };
        }
      },
    });
    const written: number[] = [];
    const warehouse = {
      openVersion: async () => ({
        write: async (rows: readonly unknown[]) => void written.push(rows.length),
        finish: async () => {},
        abort: async () => {},
      }),
    } as unknown as Warehouse;
    let fired = 0;
    const timer = setInterval(() => (fired += 1), 1);
    try {
      const outcome = await buildUnit({
        dataset: { ...dataset, name: "ticks", columns: columnsOf(ticks.schema, "ticks"), declaration: ticks },
        builds: [{ taskId: 1, partition: "2024-01-01", inputs: {} }],
        tables: new Map([["ticks", { dataset: "ticks", columns: columnsOf(ticks.schema, "ticks") }]]),
        warehouse,
        projectDir: "/nowhere",
      });
      expect(outcome).toMatchObject({ status: "built", results: [{ rowCount: 5_000 }] });
      expect(written).toEqual([1_000, 1_000, 1_000, 1_000, 1_000]);
      expect(fired).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(timer);
    }
  });
});

/** Keeps the thread busy for `ms`, as synchronous work does. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}
