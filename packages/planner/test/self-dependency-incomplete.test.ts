import { describe, expect, it } from "vitest";
import { daily, monthly, type PartitionMapping, type PartitionScheme } from "@reflow/core";
import type { PartitionState, StateSnapshot } from "@reflow/state";
import { createPlan, parseSavedPlan, planDigest, selectBackfill, toSavedPlan, type PlannableDataset } from "../src/index.js";

const asOf = new Date("2024-01-06T10:00:00Z"); // last complete day: 2024-01-05; 2024-01-06 has started

function ds(name: string, inputs: [string, PartitionMapping][] = [], partitions: PartitionScheme = daily({ start: "2024-01-01" })): PlannableDataset {
  return { name, kind: inputs.length ? "dataset" : "source", partitions, fingerprint: `${name}-f1`, inputs: inputs.map(([dataset, mapping]) => ({ alias: dataset, dataset, mapping })) };
}

function project(...list: PlannableDataset[]) {
  return { datasets: new Map(list.map((d) => [d.name, d])), order: list.map((d) => d.name) };
}

const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `2024-01-0${from + i}`);
const tasksOf = (plan: ReturnType<typeof createPlan>) => plan.tasks.map((t) => `${t.dataset} ${t.partition} ${t.reason}${t.incomplete ? " (incomplete)" : ""}`);
const empty: StateSnapshot = { datasets: new Map(), partitions: new Map() };

/** events and total built for 01…05; total D read events D and total D-1 (each at its live version). */
function builtState(extra: Partial<PartitionState> & { key?: string } = {}): StateSnapshot {
  const events = new Map<string, PartitionState>();
  const total = new Map<string, PartitionState>();
  days(1, 5).forEach((key, i) => {
    events.set(key, { status: "built", liveVersion: 1 + i, fingerprint: "events-f1", inputs: {} });
    const inputs = { events: { [key]: 1 + i }, ...(i > 0 ? { total: { [days(1, 5)[i - 1]!]: 11 + i - 1 } } : { total: {} }) };
    total.set(key, { status: "built", liveVersion: 11 + i, fingerprint: "total-f1", inputs, ...(extra.key === key ? extra : {}) });
  });
  return {
    datasets: new Map([
      ["events", { name: "events", kind: "source", fingerprint: "events-f1" }],
      ["total", { name: "total", kind: "dataset", fingerprint: "total-f1" }],
    ]),
    partitions: new Map([
      ["events", events],
      ["total", total],
    ]),
  };
}

const runningTotal = project(ds("events"), ds("total", [["events", { kind: "identity" }], ["total", { kind: "previous" }]]));

describe("previous(): a dataset reading its own previous partition", () => {
  it("each day reads the day before; the first reads nothing", () => {
    const plan = createPlan({ ...runningTotal, state: empty, asOf });
    const total = plan.tasks.filter((t) => t.dataset === "total");
    expect(total.map((t) => [t.partition, t.inputs.find((i) => i.dataset === "total")!.partitions])).toEqual([
      ["2024-01-01", []],
      ["2024-01-02", ["2024-01-01"]],
      ["2024-01-03", ["2024-01-02"]],
      ["2024-01-04", ["2024-01-03"]],
      ["2024-01-05", ["2024-01-04"]],
    ]);
  });

  it("nothing changed: nothing planned", () => {
    expect(createPlan({ ...runningTotal, state: builtState(), asOf }).tasks).toEqual([]);
  });

  it("rebuilding day D plans every later day, upstream-changed, and no earlier one", () => {
    const plan = createPlan({ ...runningTotal, state: builtState(), asOf, restate: new Map([["events", new Set(["2024-01-03"])]]) });
    expect(tasksOf(plan)).toEqual(["events 2024-01-03 restated", "total 2024-01-03 upstream-changed", "total 2024-01-04 upstream-changed", "total 2024-01-05 upstream-changed"]);
  });

  it("a failed middle day replans itself and every later day", () => {
    const plan = createPlan({ ...runningTotal, state: builtState({ key: "2024-01-04", status: "failed" }), asOf });
    expect(tasksOf(plan)).toEqual(["total 2024-01-04 failed", "total 2024-01-05 upstream-changed"]);
  });

  it("a backfill of a middle range always includes the later days, without --downstream", () => {
    const plan = createPlan({ ...runningTotal, state: builtState(), asOf, restate: new Map([["total", new Set(["2024-01-02", "2024-01-03"])]]) });
    const backfill = selectBackfill(plan, { dataset: "total", keys: new Set(["2024-01-02", "2024-01-03"]), restate: true, downstream: false });
    expect(tasksOf(backfill)).toEqual(["total 2024-01-02 restated", "total 2024-01-03 upstream-changed", "total 2024-01-04 upstream-changed", "total 2024-01-05 upstream-changed"]);
    expect(backfill.deferred).toBeUndefined();
  });

  it("monthly previous reads the month before, across a year", () => {
    const months = project(ds("balance", [["balance", { kind: "previous" }]], monthly({ start: "2023-11" })));
    const plan = createPlan({ ...months, state: empty, asOf: new Date("2024-03-01T00:00:00Z") });
    expect(plan.tasks.map((t) => `${t.partition}<-${t.inputs[0]!.partitions.join(",")}`)).toEqual(["2023-11<-", "2023-12<-2023-11", "2024-01<-2023-12", "2024-02<-2024-01"]);
  });
});

describe("--include-incomplete", () => {
  const rollup = project(ds("events"), ds("monthly_events", [["events", { kind: "rollup" }]], monthly({ start: "2024-01" })));

  it("without it, only complete partitions are planned", () => {
    expect(tasksOf(createPlan({ ...rollup, state: empty, asOf }))).toEqual(days(1, 5).map((d) => `events ${d} missing`));
  });

  it("plans the started day and the open month, marked incomplete; the month reads the days so far", () => {
    const plan = createPlan({ ...rollup, state: empty, asOf, includeIncomplete: true });
    expect(tasksOf(plan)).toEqual([...days(1, 5).map((d) => `events ${d} missing`), "events 2024-01-06 missing (incomplete)", "monthly_events 2024-01 missing (incomplete)"]);
    expect(plan.tasks.at(-1)!.inputs).toEqual([{ dataset: "events", partitions: days(1, 6) }]);
  });

  it("a lagged day is incomplete until its lag passed", () => {
    const lagged = project(ds("events", [], daily({ start: "2024-01-01", lag: { hours: 12 } })));
    const plan = createPlan({ ...lagged, state: empty, asOf, includeIncomplete: true });
    expect(tasksOf(plan).slice(-2)).toEqual(["events 2024-01-05 missing (incomplete)", "events 2024-01-06 missing (incomplete)"]);
  });

  it("a partition built incomplete is planned again (incomplete) once complete, and while it is still incomplete only with the flag", () => {
    const state = builtState({ key: "2024-01-05", incomplete: true });
    expect(tasksOf(createPlan({ ...runningTotal, state, asOf }))).toEqual(["total 2024-01-05 incomplete"]);
    const early = new Date("2024-01-05T12:00:00Z"); // 2024-01-05 still open
    expect(tasksOf(createPlan({ ...runningTotal, state, asOf: early }))).toEqual([]);
    expect(tasksOf(createPlan({ ...runningTotal, state, asOf: early, includeIncomplete: true }))).toEqual(["total 2024-01-05 incomplete (incomplete)"]);
  });

  it("a saved plan keeps which tasks are incomplete, and its digest tells the two plans apart", () => {
    const plan = createPlan({ ...rollup, state: empty, asOf, includeIncomplete: true });
    const saved = parseSavedPlan(JSON.stringify(toSavedPlan(plan, asOf)), "plan.json");
    expect(saved.tasks.filter((t) => t.incomplete).map((t) => `${t.dataset} ${t.partition}`)).toEqual(["events 2024-01-06", "monthly_events 2024-01"]);
    expect(planDigest(plan)).not.toBe(planDigest(createPlan({ ...rollup, state: empty, asOf })));
  });
});
