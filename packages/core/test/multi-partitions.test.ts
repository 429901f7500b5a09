import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  daily,
  dataset,
  defaultMapping,
  describeMapping,
  describeScheme,
  dimension,
  isPartitionKey,
  isPartitionRangeBound,
  mappingProblem,
  multi,
  nextPartitionKey,
  partitionInfo,
  partitionKeys,
  partitionRange,
  resolveMapping,
  rollup,
  source,
  staticPartitions,
  weekly,
} from "../src/index.js";

const days = daily({ start: "2024-01-01" });
const regions = staticPartitions(["eu", "us"]);
const byRegion = multi({ date: days, region: regions });
const asOf = new Date("2024-01-03T00:00:00Z");

describe("multi partitions", () => {
  it("crosses its dimensions: keys date|region, the first dimension varying slowest", () => {
    expect(partitionKeys(byRegion, asOf)).toEqual(["2024-01-01|eu", "2024-01-01|us", "2024-01-02|eu", "2024-01-02|us"]);
    expect(partitionKeys(multi({ region: regions, date: days }), asOf)).toEqual(["eu|2024-01-01", "eu|2024-01-02", "us|2024-01-01", "us|2024-01-02"]);
    expect(describeScheme(byRegion)).toBe("multi date: daily from 2024-01-01 × region: static eu, us");
  });

  it("tells a transform its window and each dimension's value", () => {
    expect(partitionInfo(byRegion, "2024-01-02|us")).toEqual({
      key: "2024-01-02|us",
      start: new Date("2024-01-02T00:00:00Z"),
      end: new Date("2024-01-03T00:00:00Z"),
      dimensions: { date: "2024-01-02", region: "us" },
    });
  });

  it("checks keys, and steps to the next one across dimensions", () => {
    expect(isPartitionKey(byRegion, "2024-01-02|us")).toBe(true);
    expect(isPartitionKey(byRegion, "2024-01-02|apac")).toBe(false);
    expect(isPartitionKey(byRegion, "2024-01-02")).toBe(false);
    expect(nextPartitionKey(byRegion, "2024-01-02|eu")).toBe("2024-01-02|us");
    expect(nextPartitionKey(byRegion, "2024-01-02|us")).toBe("2024-01-03|eu");
  });

  it("takes a full key or a first-dimension value as a range bound; a range is a box", () => {
    expect(isPartitionRangeBound(byRegion, "2024-01-02")).toBe(true);
    expect(isPartitionRangeBound(byRegion, "us")).toBe(false);
    const keys = partitionKeys(byRegion, new Date("2024-01-05T00:00:00Z"));
    expect(keys.filter(partitionRange(byRegion, "2024-01-02", "2024-01-03"))).toEqual(["2024-01-02|eu", "2024-01-02|us", "2024-01-03|eu", "2024-01-03|us"]);
    expect(keys.filter(partitionRange(byRegion, "2024-01-02|us", "2024-01-04|us"))).toEqual(["2024-01-02|us", "2024-01-03|us", "2024-01-04|us"]);
    expect(keys.filter(partitionRange(regions, "us", undefined))).toEqual([]);
    expect(["eu", "us"].filter(partitionRange(regions, "us", undefined))).toEqual(["us"]);
  });

  it("rejects anything but two dimensions, two time grains, and bad names, naming the line", () => {
    expect(() => multi({ date: days })).toThrow(/multi-partitions\.test\.ts:\d+:\d+: multi\(\): expected exactly two dimensions, got 1 \(date\)/);
    expect(() => multi({ date: days, week: weekly({ start: "2024-W01" }) })).toThrow("multi(): at most one dimension can be a time grain (date, week both are)");
    expect(() => multi({ Date: days, region: regions })).toThrow('multi(): dimension name "Date" must be lower_snake_case');
    expect(() => multi({ date: days, region: byRegion as never })).toThrow('multi(): dimension "region" must be a time grain (daily(…), …) or staticPartitions(…)');
  });
});

describe("mappings with multi partitions", () => {
  const weeklyByRegion = multi({ date: weekly({ start: "2024-W01" }), region: regions });

  it("defaults: identity between equal schemes, rollup on the time dimension, one-dimension inputs feed their dimension", () => {
    expect(defaultMapping(byRegion, byRegion)).toEqual({ kind: "identity" });
    expect(defaultMapping(byRegion, weeklyByRegion)).toEqual({ kind: "rollup" });
    expect(defaultMapping(days, byRegion)).toEqual({ kind: "dimension", dimension: "date", of: { kind: "identity" } });
    expect(defaultMapping(regions, byRegion)).toEqual({ kind: "dimension", dimension: "region", of: { kind: "identity" } });
    // Reading many partitions into one is said explicitly, with dimension().
    expect(defaultMapping(byRegion, days)).toBeUndefined();
    expect(defaultMapping(multi({ day: days, region: regions }), byRegion)).toBeUndefined();
  });

  it("dimension() wraps an input or a mapped input, and the compiler fills in its default", () => {
    const events = source("events", { partitions: byRegion, schema: z.object({ n: z.number() }), read: () => [] });
    expect(dimension(events, "date").mapping).toEqual({ kind: "dimension", dimension: "date" });
    expect(dimension(rollup(events), "date").mapping).toEqual({ kind: "dimension", dimension: "date", of: { kind: "rollup" } });
    expect(resolveMapping({ kind: "dimension", dimension: "date" }, byRegion, weekly({ start: "2024-W01" }))).toEqual({ kind: "dimension", dimension: "date", of: { kind: "rollup" } });
    expect(describeMapping({ kind: "dimension", dimension: "date", of: { kind: "rollup" } })).toBe("dimension date (rollup)");
    const total = dataset("total", { partitions: days, inputs: { events: dimension(events, "date") }, schema: z.object({ n: z.number() }), transform: () => [] });
    expect(total.inputs).toEqual([{ alias: "events", dataset: "events", mapping: { kind: "dimension", dimension: "date" } }]);
  });

  it("explains what cannot connect", () => {
    expect(mappingProblem({ kind: "identity" }, byRegion, days)).toBe('identity connects datasets of the same dimensions: say which dimension of the multi side this reads, e.g. dimension(input, "date")');
    expect(mappingProblem({ kind: "dimension", dimension: "day", of: { kind: "identity" } }, byRegion, days)).toBe('the multi side has no dimension "day" (it has date, region)');
    expect(mappingProblem({ kind: "dimension", dimension: "date", of: { kind: "fan-out" } }, byRegion, weekly({ start: "2024-W01" }))).toBe(
      'dimension "date": fan-out reads a coarser grain into a finer one',
    );
    expect(mappingProblem({ kind: "dimension", dimension: "date" }, byRegion, regions)).toBe(
      'no default mapping between dimension "date" and the other side: wrap the input, e.g. dimension(rollup(input), "date")',
    );
    expect(mappingProblem({ kind: "latest" }, byRegion, byRegion)).toBe("latest needs an input of one dimension (a multi input has one newest partition per region)");
    expect(mappingProblem({ kind: "latest" }, days, byRegion)).toBeUndefined();
    expect(mappingProblem({ kind: "rollup" }, byRegion, multi({ date: weekly({ start: "2024-W01" }), region: staticPartitions(["eu"]) }))).toBeUndefined();
    expect(mappingProblem({ kind: "dimension", dimension: "date" }, byRegion, byRegion)).toBe("dimension() connects a multi dataset with a dataset of one dimension");
  });
});
