import { describe, expect, it } from "vitest";
import { daily, hourly, monthly, nextPartitionKey, partitionInfo, partitionKeys, weekly, yearly, ReflowError, describeScheme } from "../src/index.js";

const at = (iso: string) => new Date(iso);

function errorOf(fn: () => unknown): ReflowError {
  try {
    fn();
  } catch (error) {
    return error as ReflowError;
  }
  throw new Error("expected a throw");
}

describe("hourly partitions", () => {
  it("runs to the last complete hour as of an instant", () => {
    expect(partitionKeys(hourly({ start: "2024-01-01T22" }), at("2024-01-02T01:30:00Z"))).toEqual(["2024-01-01T22", "2024-01-01T23", "2024-01-02T00"]);
  });
  it("waits out the lag", () => {
    const scheme = hourly({ start: "2024-01-01T22", lag: { minutes: 30 } });
    expect(partitionKeys(scheme, at("2024-01-02T01:29:59Z"))).toEqual(["2024-01-01T22", "2024-01-01T23"]);
    expect(partitionKeys(scheme, at("2024-01-02T01:30:00Z"))).toEqual(["2024-01-01T22", "2024-01-01T23", "2024-01-02T00"]);
  });
  it("stops at end, and gives each key its window", () => {
    expect(partitionKeys(hourly({ start: "2024-01-01T22", end: "2024-01-01T23" }), at("2030-01-01"))).toEqual(["2024-01-01T22", "2024-01-01T23"]);
    expect(partitionInfo(hourly({ start: "2024-01-01T00" }), "2024-01-01T23")).toEqual({ key: "2024-01-01T23", start: at("2024-01-01T23:00:00Z"), end: at("2024-01-02T00:00:00Z") });
    expect(nextPartitionKey(hourly({ start: "2024-01-01T00" }), "2024-02-29T23")).toBe("2024-03-01T00");
  });
});

describe("daily partitions with lag", () => {
  it("plans a day only `lag` after midnight", () => {
    const scheme = daily({ start: "2024-01-01", lag: { hours: 6 } });
    expect(partitionKeys(scheme, at("2024-01-03T05:59:59Z"))).toEqual(["2024-01-01"]);
    expect(partitionKeys(scheme, at("2024-01-03T06:00:00Z"))).toEqual(["2024-01-01", "2024-01-02"]);
    expect(describeScheme(scheme)).toBe("daily from 2024-01-01, lag 6 hours");
  });
  it("leaves a daily scheme without lag exactly as before (its fingerprint material)", () => {
    expect(JSON.stringify(daily({ start: "2024-01-01" }))).toBe('{"kind":"daily","start":"2024-01-01"}');
  });
});

describe("weekly partitions (ISO weeks, Monday to Monday)", () => {
  it("runs to the last complete week as of an instant", () => {
    expect(partitionKeys(weekly({ start: "2024-W01" }), at("2024-01-21T23:59:59Z"))).toEqual(["2024-W01", "2024-W02"]);
    expect(partitionKeys(weekly({ start: "2024-W01" }), at("2024-01-22T00:00:00Z"))).toEqual(["2024-W01", "2024-W02", "2024-W03"]);
  });
  it("waits out the lag and stops at end", () => {
    expect(partitionKeys(weekly({ start: "2024-W01", lag: { hours: 6 } }), at("2024-01-22T05:00:00Z"))).toEqual(["2024-W01", "2024-W02"]);
    expect(partitionKeys(weekly({ start: "2024-W01", end: "2024-W02" }), at("2030-01-01"))).toEqual(["2024-W01", "2024-W02"]);
  });
  it("follows ISO week-years across year ends (2020 has 53 weeks; 2024-12-30 is in 2025-W01)", () => {
    expect(partitionKeys(weekly({ start: "2020-W52", end: "2021-W02" }), at("2030-01-01"))).toEqual(["2020-W52", "2020-W53", "2021-W01", "2021-W02"]);
    expect(partitionInfo(weekly({ start: "2024-W01" }), "2025-W01")).toEqual({ key: "2025-W01", start: at("2024-12-30T00:00:00Z"), end: at("2025-01-06T00:00:00Z") });
    expect(partitionInfo(weekly({ start: "2024-W01" }), "2024-W03")).toEqual({ key: "2024-W03", start: at("2024-01-15T00:00:00Z"), end: at("2024-01-22T00:00:00Z") });
    expect(nextPartitionKey(weekly({ start: "2020-W01" }), "2020-W53")).toBe("2021-W01");
  });
});

describe("monthly partitions", () => {
  it("runs to the last complete month, after its lag", () => {
    expect(partitionKeys(monthly({ start: "2023-12" }), at("2024-03-15T00:00:00Z"))).toEqual(["2023-12", "2024-01", "2024-02"]);
    expect(partitionKeys(monthly({ start: "2024-01", lag: { days: 3 } }), at("2024-03-03T23:59:59Z"))).toEqual(["2024-01"]);
    expect(partitionKeys(monthly({ start: "2024-01", lag: { days: 3 } }), at("2024-03-04T00:00:00Z"))).toEqual(["2024-01", "2024-02"]);
  });
  it("stops at end and gives each key its window", () => {
    expect(partitionKeys(monthly({ start: "2024-01", end: "2024-01" }), at("2030-01-01"))).toEqual(["2024-01"]);
    expect(partitionInfo(monthly({ start: "2024-01" }), "2024-02")).toEqual({ key: "2024-02", start: at("2024-02-01T00:00:00Z"), end: at("2024-03-01T00:00:00Z") });
    expect(nextPartitionKey(monthly({ start: "2024-01" }), "2024-12")).toBe("2025-01");
  });
});

describe("yearly partitions", () => {
  it("runs to the last complete year, after its lag, up to end", () => {
    expect(partitionKeys(yearly({ start: "2022" }), at("2024-06-01T00:00:00Z"))).toEqual(["2022", "2023"]);
    expect(partitionKeys(yearly({ start: "2022", lag: { days: 1 } }), at("2024-01-01T12:00:00Z"))).toEqual(["2022"]);
    expect(partitionKeys(yearly({ start: "2022", end: "2022" }), at("2030-01-01"))).toEqual(["2022"]);
    expect(partitionInfo(yearly({ start: "2022" }), "2024")).toEqual({ key: "2024", start: at("2024-01-01T00:00:00Z"), end: at("2025-01-01T00:00:00Z") });
  });
});

describe("grain validation", () => {
  it("rejects keys that are not real, naming the helper, the field and the calling line", () => {
    const cases: [() => unknown, string][] = [
      [() => hourly({ start: "2024-01-01T24" }), 'hourly(): start must be a key written YYYY-MM-DDTHH, got "2024-01-01T24"'],
      [() => weekly({ start: "2021-W53" }), 'weekly(): start must be a key written YYYY-Www, got "2021-W53"'],
      [() => monthly({ start: "2024-01", end: "2024-13" }), 'monthly(): end must be a key written YYYY-MM, got "2024-13"'],
      [() => yearly({ start: "24" }), 'yearly(): start must be a key written YYYY, got "24"'],
      [() => monthly({ start: "2024-03", end: "2024-02" }), "monthly(): end 2024-02 is before start 2024-03"],
      [() => daily({ start: "2024-01-01", lag: { hours: -1 } }), "daily(): lag: hours must be a whole number of at least 0, got -1"],
      [() => weekly({ start: "2024-W01", lag: { months: 1 } as never }), 'weekly(): lag: unknown unit "months" (use weeks, days, hours, minutes)'],
    ];
    for (const [fn, message] of cases) {
      const error = errorOf(fn);
      expect(error.code).toBe("REFLOW_INVALID_PARTITIONS");
      expect(error.message).toMatch(new RegExp(`^packages/core/test/time-grains\\.test\\.ts:\\d+:\\d+: ${message.replace(/[()[\]]/g, "\\$&")}$`));
      expect(error.location?.file).toMatch(/time-grains\.test\.ts$/);
    }
  });
});
