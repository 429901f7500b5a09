import { describe, expect, it } from "vitest";
import { daily, multi, staticPartitions, weekly, type PartitionMapping } from "@reflow/core";
import { createPlan, effectivePartitionKeys } from "../src/index.js";
import { builtState, ds, invalidatedBy, projectOf } from "./support/built-project.js";

const asOf = new Date("2024-01-10T00:00:00Z"); // days 2024-01-01 … 2024-01-09; week 2024-W01 (Jan 1 … 7) complete
const days = daily({ start: "2024-01-01" });
const regions = staticPartitions(["eu", "us", "apac"]);
const byRegion = multi({ date: days, region: regions });
const dimension = (name: string, of: PartitionMapping = { kind: "identity" }): PartitionMapping => ({ kind: "dimension", dimension: name, of });

const project = projectOf([
  ds("events", byRegion),
  ds("events_clean", byRegion, [["events", { kind: "identity" }]]),
  ds("regional_weekly", multi({ date: weekly({ start: "2024-W01" }), region: regions }), [["events", { kind: "rollup" }]]),
  ds("regional_rolling", byRegion, [["events", { kind: "window", length: { days: 3 } }]]),
  ds("daily_total", days, [["events", dimension("date")]]),
  ds("weekly_total", weekly({ start: "2024-W01" }), [["events", dimension("date", { kind: "rollup" })]]),
  ds("region_total", regions, [["events", dimension("region")]]),
  ds("rates", days),
  ds("priced", byRegion, [["rates", dimension("date")]]),
  ds("targets", staticPartitions(["eu", "us"])),
  ds("targets_by_day", byRegion, [["targets", dimension("region")]]),
]);
const keysOf = effectivePartitionKeys(project.datasets, project.order, asOf);
const day = (d: number) => `2024-01-${String(d).padStart(2, "0")}`;

describe("multi partitions in the planner", () => {
  it("has one key per day and region, days first, regions in declared order", () => {
    expect(keysOf.get("events")!.slice(0, 4)).toEqual(["2024-01-01|eu", "2024-01-01|us", "2024-01-01|apac", "2024-01-02|eu"]);
    expect(keysOf.get("events")).toHaveLength(27);
    expect(keysOf.get("regional_weekly")).toEqual(["2024-W01|eu", "2024-W01|us", "2024-W01|apac"]);
    // A region the static input lacks is not planned.
    expect(keysOf.get("targets_by_day")).toEqual(Array.from({ length: 9 }, (_, i) => [`${day(i + 1)}|eu`, `${day(i + 1)}|us`]).flat());
    expect(createPlan({ ...project, state: builtState(project, asOf), asOf }).tasks).toEqual([]);
  });

  it("rebuilding 2024-01-03|eu invalidates exactly that key, its region's week and windows, its day, its week and its region", () => {
    expect(invalidatedBy(project, asOf, "events", ["2024-01-03|eu"])).toEqual({
      events: ["2024-01-03|eu restated"],
      events_clean: ["2024-01-03|eu upstream-changed"],
      regional_weekly: ["2024-W01|eu upstream-changed"],
      regional_rolling: ["2024-01-03|eu upstream-changed", "2024-01-04|eu upstream-changed", "2024-01-05|eu upstream-changed"],
      daily_total: ["2024-01-03 upstream-changed"],
      weekly_total: ["2024-W01 upstream-changed"],
      region_total: ["eu upstream-changed"],
    });
  });

  it("a one-dimension input feeds every key of its value: a day every region of that day, a region every day of it", () => {
    expect(invalidatedBy(project, asOf, "rates", ["2024-01-03"])).toEqual({
      rates: ["2024-01-03 restated"],
      priced: ["2024-01-03|eu upstream-changed", "2024-01-03|us upstream-changed", "2024-01-03|apac upstream-changed"],
    });
    expect(invalidatedBy(project, asOf, "targets", ["us"])).toEqual({
      targets: ["us restated"],
      targets_by_day: Array.from({ length: 9 }, (_, i) => `${day(i + 1)}|us upstream-changed`),
    });
  });

  it("records the exact input keys of each task", () => {
    const plan = createPlan({ ...project, state: { datasets: new Map(), partitions: new Map() }, asOf });
    const inputsOf = (dataset: string, key: string) => plan.tasks.find((t) => t.dataset === dataset && t.partition === key)!.inputs;
    expect(inputsOf("daily_total", "2024-01-03")).toEqual([{ dataset: "events", partitions: ["2024-01-03|apac", "2024-01-03|eu", "2024-01-03|us"] }]);
    expect(inputsOf("region_total", "us")).toEqual([{ dataset: "events", partitions: Array.from({ length: 9 }, (_, i) => `${day(i + 1)}|us`) }]);
    expect(inputsOf("weekly_total", "2024-W01")[0]!.partitions).toHaveLength(21);
    expect(inputsOf("regional_rolling", "2024-01-02|us")).toEqual([{ dataset: "events", partitions: ["2024-01-01|us", "2024-01-02|us"] }]);
  });

  it("a daily reader of a multi input has only the days the input has", () => {
    const lagged = projectOf([
      ds("events", multi({ date: daily({ start: "2024-01-01", end: "2024-01-05" }), region: regions })),
      ds("daily_total", days, [["events", dimension("date")]]),
    ]);
    const keys = effectivePartitionKeys(lagged.datasets, lagged.order, asOf);
    expect(keys.get("daily_total")).toEqual([day(1), day(2), day(3), day(4), day(5)]);
  });
});
