import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsOf, daily, partitionInfo, source } from "@reflow/core";
import { observeSourcePartitions, observeSourceVersion, type ExecutableDataset } from "../src/index.js";

const withVersion = (sourceVersion: (context: { partition: { key: string } }) => string | Promise<string>): ExecutableDataset => {
  const declaration = source("orders", { partitions: daily({ start: "2024-01-01" }), schema: z.object({ id: z.string() }), read: () => [], sourceVersion });
  return { name: "orders", kind: "source", partitions: declaration.partitions, columns: columnsOf(declaration.schema, "orders"), fingerprint: "o1", inputs: [], declaration };
};
const day = (dataset: ExecutableDataset) => partitionInfo(dataset.partitions, "2024-01-02");

describe("observeSourceVersion", () => {
  it("answers a synchronous sourceVersion() without a promise, and an asynchronous one with the same version", async () => {
    const sync = withVersion(({ partition }) => `etag-${partition.key}`);
    expect(observeSourceVersion(sync, day(sync), "/nowhere")).toBe("v:etag-2024-01-02");
    const async = withVersion(async ({ partition }) => `etag-${partition.key}`);
    const answer = observeSourceVersion(async, day(async), "/nowhere");
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toBe("v:etag-2024-01-02");
    // As observeSourcePartitions gives them (one call per key).
    expect(await observeSourcePartitions(sync, ["2024-01-01", "2024-01-02"], "/nowhere")).toEqual(["v:etag-2024-01-01", "v:etag-2024-01-02"]);
  });

  it("fails with REFLOW_SOURCE_UNREADABLE and the same message whether sourceVersion() throws or rejects", async () => {
    const thrown = withVersion(() => {
      throw new Error("HEAD 503");
    });
    const rejected = withVersion(async () => {
      throw new Error("HEAD 503");
    });
    let syncError: unknown;
    try {
      observeSourceVersion(thrown, day(thrown), "/nowhere");
    } catch (error) {
      syncError = error;
    }
    const asyncError: unknown = await (observeSourceVersion(rejected, day(rejected), "/nowhere") as Promise<string>).catch((error: unknown) => error);
    for (const error of [syncError, asyncError]) {
      expect(error).toMatchObject({ code: "REFLOW_SOURCE_UNREADABLE" });
      expect((error as Error).message).toMatch(/^cannot observe source "orders" partition 2024-01-02 for changes: .*HEAD 503.*\(declare observe: false on the source to skip observing it\)$/);
    }
    expect((syncError as Error).message.replace(/:\d+:\d+/g, "")).toBe((asyncError as Error).message.replace(/:\d+:\d+/g, ""));
    await expect(observeSourcePartitions(thrown, ["2024-01-02"], "/nowhere")).rejects.toMatchObject({ code: "REFLOW_SOURCE_UNREADABLE" });
  });
});
