import { describe, expect, it } from "vitest";
import { z } from "zod";
import { daily, dataset, hourly, mappedInputKeys, mappingProblem, monthly, partitionKeys, previous, source, staticPartitions, weekly, type PartitionScheme } from "../src/index.js";

const schema = z.object({ n: z.number() });
const days = daily({ start: "2024-01-01" });

describe("previous()", () => {
  it("reads the key right before, in every grain and in declared static order; the first reads nothing", () => {
    const dayKeys = ["2024-02-28", "2024-02-29", "2024-03-01"];
    const same = (scheme: PartitionScheme) => ({ input: scheme, output: scheme });
    expect(mappedInputKeys({ kind: "previous" }, "2024-03-01", same(days), dayKeys)).toEqual(["2024-02-29"]);
    expect(mappedInputKeys({ kind: "previous" }, "2024-02-28", same(days), dayKeys)).toEqual([]);
    expect(mappedInputKeys({ kind: "previous" }, "2025-W01", same(weekly({ start: "2024-W01" })), ["2024-W52", "2025-W01"])).toEqual(["2024-W52"]);
    expect(mappedInputKeys({ kind: "previous" }, "2024-01-01T00", same(hourly({ start: "2023-12-01T00" })), ["2023-12-31T23", "2024-01-01T00"])).toEqual(["2023-12-31T23"]);
    expect(mappedInputKeys({ kind: "previous" }, "eu", same(staticPartitions(["us", "eu", "apac"])), ["us", "eu", "apac"])).toEqual(["us"]);
  });

  it("needs the same partitioning on both sides", () => {
    expect(mappingProblem({ kind: "previous" }, monthly({ start: "2024-01" }), days)).toBe("previous needs the same grain on both sides");
    expect(mappingProblem({ kind: "previous" }, { kind: "unpartitioned" }, { kind: "unpartitioned" })).toBe(
      "previous needs partitions: an unpartitioned dataset has no previous partition",
    );
    expect(mappingProblem({ kind: "previous" }, staticPartitions(["a", "b"]), staticPartitions(["a", "b"]))).toBeUndefined();
  });

  it("without an argument binds to the dataset being declared", () => {
    const total = dataset("self_total", { partitions: days, schema, inputs: { prior: previous<{ n: number }>() }, transform: async ({ inputs }) => inputs.prior.rows() });
    expect(total.inputs).toEqual([{ alias: "prior", dataset: "self_total", mapping: { kind: "previous" } }]);
  });
});

describe("batch", () => {
  it("gives a batched transform its partitions and takes rows by key", () => {
    const events = source("batch_events", { partitions: days, schema, batch: 31, read: ({ partitions }) => new Map(partitions.map((p) => [p.key, [{ n: 1 }]])) });
    const copy = dataset("batch_copy", {
      partitions: days,
      schema,
      batch: 7,
      inputs: { events },
      transform: async ({ partitions, inputs }) => Object.fromEntries(partitions.map((p) => [p.key, [{ n: inputs.events.partitions.length }]])),
    });
    expect([events.batch, copy.batch]).toEqual([31, 7]);
  });

  it("refuses a batch that is not a whole number of at least 1, and a batch with previous()", () => {
    expect(() => source("bad_batch", { partitions: days, schema, batch: 0, read: () => ({}) })).toThrow(/: dataset "bad_batch": batch must be a whole number of at least 1, got 0$/);
    expect(() => dataset("bad_self", { partitions: days, schema, batch: 2, inputs: { prior: previous() }, transform: () => ({}) })).toThrow(
      /self-and-batches\.test\.ts:\d+:\d+: dataset "bad_self": batch cannot be combined with previous\(\): each partition reads the one before it, so they are built one at a time$/,
    );
  });
});

describe("incomplete partitions", () => {
  it("partitionKeys with includeIncomplete runs to the partition that holds as-of, lag or not", () => {
    const at = new Date("2024-01-03T05:00:00Z");
    expect(partitionKeys(days, at)).toEqual(["2024-01-01", "2024-01-02"]);
    expect(partitionKeys(days, at, true)).toEqual(["2024-01-01", "2024-01-02", "2024-01-03"]);
    expect(partitionKeys(daily({ start: "2024-01-01", lag: { hours: 6 } }), at)).toEqual(["2024-01-01"]);
    expect(partitionKeys(daily({ start: "2024-01-01", lag: { hours: 6 } }), at, true)).toEqual(["2024-01-01", "2024-01-02", "2024-01-03"]);
    expect(partitionKeys(days, new Date("2024-01-03T00:00:00Z"), true)).toEqual(["2024-01-01", "2024-01-02"]);
  });
});
