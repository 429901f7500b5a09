import { describe, expect, it } from "vitest";
import { daily, defaultMapping, describeScheme, inputPartitionsReady, mappedInputKeys, mappingProblem, nextPartitionKey, partitionInfo, partitionKeys, staticPartitions } from "../src/index.js";

describe("static partitions", () => {
  const regions = staticPartitions(["eu", "us", "apac"]);

  it("has its keys in declared order at any instant, with no time window", () => {
    expect(partitionKeys(regions, new Date("2000-01-01"))).toEqual(["eu", "us", "apac"]);
    expect(partitionInfo(regions, "us")).toEqual({ key: "us" });
    expect(nextPartitionKey(regions, "eu")).toBe("us");
    expect(nextPartitionKey(regions, "apac")).toBeUndefined();
    expect(describeScheme(regions)).toBe("static eu, us, apac");
    expect(Object.isFrozen(regions.keys)).toBe(true);
  });

  it("reads another static input by key, and waits for a key the input lacks", () => {
    const input = staticPartitions(["eu", "us"]);
    expect(defaultMapping(input, regions)).toEqual({ kind: "identity" });
    expect(mappedInputKeys({ kind: "identity" }, "eu", { input, output: regions }, input.keys)).toEqual(["eu"]);
    expect(inputPartitionsReady({ kind: "identity" }, "apac", { input, output: regions }, new Set(input.keys))).toBe(false);
  });

  it("has no default mapping to or from a time grain, and no time mapping", () => {
    expect(defaultMapping(regions, daily({ start: "2024-01-01" }))).toBeUndefined();
    expect(defaultMapping(daily({ start: "2024-01-01" }), regions)).toBeUndefined();
    expect(mappingProblem({ kind: "rollup" }, daily({ start: "2024-01-01" }), regions)).toBe("rollup needs time partitions on both sides");
    expect(mappingProblem({ kind: "all" }, daily({ start: "2024-01-01" }), regions)).toBeUndefined();
  });

  it("rejects empty lists, odd keys and duplicates with REFLOW_INVALID_PARTITIONS naming the line", () => {
    expect(() => staticPartitions([])).toThrow(/static-partitions\.test\.ts:\d+:\d+: staticPartitions\(\): expected a non-empty array of keys/);
    expect(() => staticPartitions(["eu", "*"])).toThrow('staticPartitions(): key "*" must be letters, digits, _ . - (starting with a letter or digit)');
    expect(() => staticPartitions(["eu", "eu"])).toThrow('staticPartitions(): key "eu" is listed twice');
  });
});
