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
});
