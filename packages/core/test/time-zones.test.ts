import { describe, expect, it } from "vitest";
import { daily, defaultMapping, describeScheme, hourly, mappingProblem, monthly, multi, partitionInfo, partitionKeys, staticPartitions, weekly } from "../src/index.js";

const at = (iso: string) => new Date(iso);
const ny = "America/New_York";

describe("time grains in a time zone", () => {
  it("keys stay local dates; a day is complete at local midnight", () => {
    const scheme = daily({ start: "2024-01-01", timezone: ny });
    expect(partitionKeys(scheme, at("2024-01-03T04:59:59Z"))).toEqual(["2024-01-01"]);
    expect(partitionKeys(scheme, at("2024-01-03T05:00:00Z"))).toEqual(["2024-01-01", "2024-01-02"]);
    expect(partitionInfo(scheme, "2024-01-02")).toEqual({ key: "2024-01-02", start: at("2024-01-02T05:00:00Z"), end: at("2024-01-03T05:00:00Z") });
    expect(describeScheme(scheme)).toBe("daily America/New_York from 2024-01-01");
  });

  it("lag counts from the local close", () => {
    const scheme = daily({ start: "2024-01-01", timezone: ny, lag: { hours: 6 } });
    expect(partitionKeys(scheme, at("2024-01-02T10:59:59Z"))).toEqual([]);
    expect(partitionKeys(scheme, at("2024-01-02T11:00:00Z"))).toEqual(["2024-01-01"]);
  });

  it("a day is 23 or 25 hours when the clocks change", () => {
    const scheme = daily({ start: "2024-01-01", timezone: ny });
    expect(partitionInfo(scheme, "2024-03-10")).toEqual({ key: "2024-03-10", start: at("2024-03-10T05:00:00Z"), end: at("2024-03-11T04:00:00Z") });
    expect(partitionInfo(scheme, "2024-11-03")).toEqual({ key: "2024-11-03", start: at("2024-11-03T04:00:00Z"), end: at("2024-11-04T05:00:00Z") });
  });

  it("hourly keys are local clock hours: the skipped hour is empty, the repeated one two hours long", () => {
    const scheme = hourly({ start: "2024-03-10T00", timezone: ny });
    expect(partitionInfo(scheme, "2024-03-10T02")).toEqual({ key: "2024-03-10T02", start: at("2024-03-10T07:00:00Z"), end: at("2024-03-10T07:00:00Z") });
    expect(partitionInfo(scheme, "2024-11-03T01")).toEqual({ key: "2024-11-03T01", start: at("2024-11-03T05:00:00Z"), end: at("2024-11-03T07:00:00Z") });
  });

  it("weeks and months start at local midnight; a skipped local midnight starts the day at the jump", () => {
    expect(partitionInfo(weekly({ start: "2024-W01", timezone: "Asia/Tokyo" }), "2024-W01").start).toEqual(at("2023-12-31T15:00:00Z"));
    expect(partitionKeys(monthly({ start: "2024-01", timezone: "Asia/Tokyo" }), at("2024-01-31T15:00:00Z"))).toEqual(["2024-01"]);
    expect(partitionInfo(daily({ start: "2024-09-01", timezone: "America/Santiago" }), "2024-09-08").start).toEqual(at("2024-09-08T04:00:00Z"));
  });

  it("a multi scheme's windows follow its time dimension's zone", () => {
    const scheme = multi({ date: daily({ start: "2024-01-01", timezone: ny }), region: staticPartitions(["eu"]) });
    expect(partitionInfo(scheme, "2024-01-02|eu").start).toEqual(at("2024-01-02T05:00:00Z"));
  });

  it("UTC spelled out is the default; an unknown zone fails naming the line", () => {
    expect(daily({ start: "2024-01-01", timezone: "UTC" })).toEqual(daily({ start: "2024-01-01" }));
    expect(daily({ start: "2024-01-01", timezone: "america/new_york" }).timezone).toBe(ny);
    expect(() => daily({ start: "2024-01-01", timezone: "Mars/Olympus" })).toThrow(
      /time-zones\.test\.ts:\d+:\d+: daily\(\): timezone must be an IANA time zone name such as "America\/New_York", got "Mars\/Olympus"/,
    );
  });

  it("refuses mappings between grains of different zones", () => {
    const local = daily({ start: "2024-01-01", timezone: ny });
    expect(mappingProblem({ kind: "rollup" }, local, weekly({ start: "2024-W01" }))).toBe("rollup needs the same time zone on both sides (America/New_York vs UTC)");
    expect(mappingProblem({ kind: "identity" }, local, daily({ start: "2024-01-01" }))).toBe("identity needs the same time zone on both sides (America/New_York vs UTC)");
    expect(mappingProblem({ kind: "rollup" }, local, weekly({ start: "2024-W01", timezone: ny }))).toBeUndefined();
    expect(mappingProblem({ kind: "all" }, local, daily({ start: "2024-01-01" }))).toBeUndefined();
    // The default between two daily schemes is identity, which the compiler checks like any mapping.
    expect(defaultMapping(local, daily({ start: "2024-01-01" }))).toEqual({ kind: "identity" });
  });
});
