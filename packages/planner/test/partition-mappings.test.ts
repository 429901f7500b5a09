import { describe, expect, it } from "vitest";
import { daily, monthly, weekly } from "@reflow/core";
import type { PartitionState } from "@reflow/state";
import { createPlan, effectivePartitionKeys } from "../src/index.js";
import { builtState, ds, invalidatedBy, projectOf } from "./support/built-project.js";

const asOf = new Date("2024-03-01T00:00:00Z"); // last complete day 2024-02-29, month 2024-02, week 2024-W08

const days = daily({ start: "2024-01-01" });
const list = [
  ds("events", days),
  ds("weekly_users", weekly({ start: "2024-W01" }), [["events", { kind: "rollup" }]]),
  ds("monthly_users", monthly({ start: "2024-01" }), [["events", { kind: "rollup" }]]),
  ds("rolling_users", days, [["events", { kind: "window", length: { days: 7 } }]]),
  ds("day_over_day", days, [["events", { kind: "offset", by: { days: 1 } }]]),
  ds("monthly_share", days, [["monthly_users", { kind: "fan-out" }]]),
  ds("lifetime", { kind: "unpartitioned" }, [["events", { kind: "all" }]]),
  ds("newest_snapshot", days, [["events", { kind: "latest" }]]),
];
const project = projectOf(list);

const invalidatedByDay = (day: string) => invalidatedBy(project, asOf, "events", [day]);

const range = (month: string, from: number, to: number, reason = "upstream-changed") =>
  Array.from({ length: to - from + 1 }, (_, i) => `2024-${month}-${String(from + i).padStart(2, "0")} ${reason}`);

describe("invalidation through partition mappings", () => {
  it("the built state is up to date: nothing to plan", () => {
    expect(createPlan({ ...project, state: builtState(project, asOf), asOf }).tasks).toEqual([]);
  });

  it("rebuilding day 2024-01-17 invalidates exactly its week, its month, the 7 windows holding it, the next day, and what reads the month", () => {
    expect(invalidatedByDay("2024-01-17")).toEqual({
      events: ["2024-01-17 restated"],
      weekly_users: ["2024-W03 upstream-changed"],
      monthly_users: ["2024-01 upstream-changed"],
      rolling_users: range("01", 17, 23),
      day_over_day: ["2024-01-18 upstream-changed"],
      // fan-out: every day of January reads month 2024-01, which is rebuilt.
      monthly_share: range("01", 1, 31),
      lifetime: ["* upstream-changed"],
      // latest reads 2024-02-29 only: an older day does not concern it.
    });
  });

  it("rebuilding the newest day invalidates every partition that reads the latest one, and no incomplete week", () => {
    expect(invalidatedByDay("2024-02-29")).toEqual({
      events: ["2024-02-29 restated"],
      // 2024-02-29 is in 2024-W09 (Feb 26 … Mar 3), which is not complete yet: no weekly partition reads it.
      monthly_users: ["2024-02 upstream-changed"],
      rolling_users: ["2024-02-29 upstream-changed"],
      monthly_share: range("02", 1, 29),
      lifetime: ["* upstream-changed"],
      newest_snapshot: [...range("01", 1, 31), ...range("02", 1, 29)],
    });
  });

  it("rebuilding the first day leaves the offset's first partition alone (it reads nothing) and invalidates the second", () => {
    const plan = invalidatedByDay("2024-01-01");
    expect(plan.day_over_day).toEqual(["2024-01-02 upstream-changed"]);
    expect(plan.weekly_users).toEqual(["2024-W01 upstream-changed"]);
    expect(plan.rolling_users).toEqual(range("01", 1, 7));
  });
});

describe("completeness across mappings", () => {
  it("a month is not planned before its last day is complete, whatever its own lag", () => {
    const lagged = [
      ds("events", daily({ start: "2024-01-01", lag: { days: 1 } })), // 2024-02-29 completes on 2024-03-02
      ds("monthly_users", monthly({ start: "2024-01" }), [["events", { kind: "rollup" }]]),
      ds("rolling_users", days, [["events", { kind: "window", length: { days: 7 } }]]),
    ];
    const keys = effectivePartitionKeys(new Map(lagged.map((d) => [d.name, d])), lagged.map((d) => d.name), asOf);
    expect(keys.get("events")!.at(-1)).toBe("2024-02-28");
    expect(keys.get("monthly_users")).toEqual(["2024-01"]);
    expect(keys.get("rolling_users")!.at(-1)).toBe("2024-02-28");
  });
});

describe("static partitions, identity by key", () => {
  it("rebuilding one region invalidates that region only", () => {
    const regions = { kind: "static", keys: ["eu", "us", "apac"] } as const;
    const list = [ds("sales", regions), ds("sales_report", { kind: "static", keys: ["eu", "us"] }, [["sales", { kind: "identity" }]])];
    const p = { datasets: new Map(list.map((d) => [d.name, d])), order: list.map((d) => d.name) };
    const built = createPlan({ ...p, state: { datasets: new Map(), partitions: new Map() }, asOf });
    expect(built.tasks.map((t) => `${t.dataset} ${t.partition}`)).toEqual(["sales eu", "sales us", "sales apac", "sales_report eu", "sales_report us"]);
    const partitions = new Map([
      ["sales", new Map(["eu", "us", "apac"].map((k, i): [string, PartitionState] => [k, { status: "built", liveVersion: i + 1, fingerprint: "sales-1", inputs: {} }]))],
      ["sales_report", new Map(["eu", "us"].map((k, i): [string, PartitionState] => [k, { status: "built", liveVersion: 10 + i, fingerprint: "sales_report-1", inputs: { sales: { [k]: i + 1 } } }]))],
    ]);
    const datasets = new Map(list.map((d) => [d.name, { name: d.name, kind: d.kind, fingerprint: d.fingerprint }]));
    const plan = createPlan({ ...p, state: { datasets, partitions }, asOf, restate: new Map([["sales", new Set(["us"])]]) });
    expect(plan.tasks.map((t) => `${t.dataset} ${t.partition} ${t.reason}`)).toEqual(["sales us restated", "sales_report us upstream-changed"]);
  });
});
