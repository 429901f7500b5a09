import { describe, expect, it } from "vitest";
import { daily, type PartitionScheme } from "@reflow/core";
import type { PartitionState, StateSnapshot } from "@reflow/state";
import { createPlan, effectivePartitionKeys, type PlannableDataset } from "../src/index.js";

const asOf = new Date("2024-01-06T00:00:00Z"); // last complete day: 2024-01-05

function ds(name: string, fingerprint: string, inputs: string[] = [], partitions: PartitionScheme = daily({ start: "2024-01-01" })): PlannableDataset {
  return {
    name,
    kind: inputs.length ? "dataset" : "source",
    partitions,
    fingerprint,
    inputs: inputs.map((input) => ({ alias: input, dataset: input, mapping: { kind: partitions.kind === "unpartitioned" ? "all" : "identity" } })),
  };
}

function project(...list: PlannableDataset[]) {
  return { datasets: new Map(list.map((d) => [d.name, d])), order: list.map((d) => d.name) };
}

/** State as if every dataset had been built once with its current fingerprint; version = running counter. */
function builtState(p: ReturnType<typeof project>, asOfDate = asOf): { snapshot: StateSnapshot; partitions: Map<string, Map<string, PartitionState>> } {
  const keys = effectivePartitionKeys(p.datasets, p.order, asOfDate);
  const partitions = new Map<string, Map<string, PartitionState>>();
  let version = 1;
  for (const name of p.order) {
    const d = p.datasets.get(name)!;
    const byKey = new Map<string, PartitionState>();
    for (const key of keys.get(name)!) {
      const inputs: Record<string, Record<string, number>> = {};
      for (const input of d.inputs) {
        const read = input.mapping.kind === "identity" ? [key] : keys.get(input.dataset)!;
        inputs[input.dataset] = Object.fromEntries(read.map((k) => [k, partitions.get(input.dataset)!.get(k)!.liveVersion!]));
      }
      byKey.set(key, { status: "built", liveVersion: version++, fingerprint: d.fingerprint, inputs });
    }
    partitions.set(name, byKey);
  }
  const datasets = new Map(p.order.map((name) => [name, { name, kind: p.datasets.get(name)!.kind, fingerprint: p.datasets.get(name)!.fingerprint }]));
  return { snapshot: { datasets, partitions }, partitions };
}

const tasksOf = (plan: ReturnType<typeof createPlan>) => plan.tasks.map((t) => `${t.dataset} ${t.partition} ${t.reason}`);

describe("createPlan", () => {
  const base = project(ds("events", "e1"), ds("active", "a1", ["events"]), ds("revenue", "r1", ["events"]), ds("summary", "s1", ["active"], { kind: "unpartitioned" }));

  it("plans every partition as missing on an empty state, inputs before readers", () => {
    const plan = createPlan({ ...base, state: { datasets: new Map(), partitions: new Map() }, asOf });
    expect(plan.tasks).toHaveLength(16);
    expect(tasksOf(plan).slice(0, 6)).toEqual([
      "events 2024-01-01 missing",
      "events 2024-01-02 missing",
      "events 2024-01-03 missing",
      "events 2024-01-04 missing",
      "events 2024-01-05 missing",
      "active 2024-01-01 missing",
    ]);
    expect(plan.tasks.at(-1)).toEqual({
      dataset: "summary",
      partition: "*",
      reason: "missing",
      fingerprint: "s1",
      inputs: [{ dataset: "active", partitions: ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"] }],
    });
    expect(plan.datasets.map((d) => `${d.name}:${d.change}`)).toEqual(["events:added", "active:added", "revenue:added", "summary:added"]);
    expect(plan.summary).toEqual({ tasks: 16, datasets: 4 });
  });

  it("merges the keys two aliases of one input select into one sorted task input, and shares one-key inputs between tasks", () => {
    const events = ds("events", "e1");
    const both: PlannableDataset = {
      ...ds("both", "b1"),
      kind: "dataset",
      inputs: [
        { alias: "today", dataset: "events", mapping: { kind: "identity" } },
        { alias: "yesterday", dataset: "events", mapping: { kind: "offset", by: { days: 1 } } },
      ],
    };
    const plan = createPlan({ ...project(events, both, ds("copy", "c1", ["events"]), ds("again", "a1", ["events"])), state: { datasets: new Map(), partitions: new Map() }, asOf });
    const inputsOf = (dataset: string, partition: string) => plan.tasks.find((t) => t.dataset === dataset && t.partition === partition)!.inputs;
    expect(inputsOf("both", "2024-01-01")).toEqual([{ dataset: "events", partitions: ["2024-01-01"] }]);
    expect(inputsOf("both", "2024-01-03")).toEqual([{ dataset: "events", partitions: ["2024-01-02", "2024-01-03"] }]);
    expect(Object.isFrozen(inputsOf("both", "2024-01-03")[0]!.partitions)).toBe(true);
    // The same input key read by identity: one frozen object for every task reading it.
    expect(inputsOf("copy", "2024-01-02")).toEqual([{ dataset: "events", partitions: ["2024-01-02"] }]);
    expect(inputsOf("copy", "2024-01-02")[0]).toBe(inputsOf("again", "2024-01-02")[0]);
    expect(Object.isFrozen(inputsOf("copy", "2024-01-02")[0])).toBe(true);
    expect(Object.isFrozen(inputsOf("copy", "2024-01-02")[0]!.partitions)).toBe(true);
  });

  it("plans nothing when everything is built with the current fingerprints", () => {
    const { snapshot } = builtState(base);
    const plan = createPlan({ ...base, state: snapshot, asOf });
    expect(plan.tasks).toEqual([]);
    expect(plan.datasets.every((d) => d.change === "unchanged")).toBe(true);
  });

  it("rebuilds a modified dataset and exactly its downstream", () => {
    const { snapshot } = builtState(base);
    const edited = project(ds("events", "e1"), ds("active", "a2", ["events"]), ds("revenue", "r1", ["events"]), ds("summary", "s1", ["active"], { kind: "unpartitioned" }));
    const plan = createPlan({ ...edited, state: snapshot, asOf });
    expect(tasksOf(plan)).toEqual([
      "active 2024-01-01 code-changed",
      "active 2024-01-02 code-changed",
      "active 2024-01-03 code-changed",
      "active 2024-01-04 code-changed",
      "active 2024-01-05 code-changed",
      "summary * upstream-changed",
    ]);
    expect(plan.datasets.map((d) => `${d.name}:${d.change}`)).toEqual(["events:unchanged", "active:modified", "revenue:unchanged", "summary:unchanged"]);
    expect(plan.summary).toEqual({ tasks: 6, datasets: 2 });
  });

  it("shows a failed partition as failed even when its live version has older code, and its readers as upstream-changed", () => {
    const { snapshot, partitions } = builtState(base);
    const active = partitions.get("active")!;
    active.set("2024-01-03", { ...active.get("2024-01-03")!, status: "failed", fingerprint: "old" });
    const plan = createPlan({ ...base, state: snapshot, asOf });
    expect(tasksOf(plan)).toEqual(["active 2024-01-03 failed", "summary * upstream-changed"]);
  });

  it("rebuilds downstream exactly the keys an input plans: its first keys, its first keys and a later one, or all", () => {
    const readers = (failed: string[]) => {
      const { snapshot, partitions } = builtState(base);
      const events = partitions.get("events")!;
      for (const key of failed) events.set(key, { ...events.get(key)!, status: "failed" });
      return tasksOf(createPlan({ ...base, state: snapshot, asOf })).filter((task) => task.startsWith("active "));
    };
    expect(readers(["2024-01-01", "2024-01-02"])).toEqual(["active 2024-01-01 upstream-changed", "active 2024-01-02 upstream-changed"]);
    expect(readers(["2024-01-01", "2024-01-02", "2024-01-04"])).toEqual([
      "active 2024-01-01 upstream-changed",
      "active 2024-01-02 upstream-changed",
      "active 2024-01-04 upstream-changed",
    ]);
    expect(readers(["2024-01-03"])).toEqual(["active 2024-01-03 upstream-changed"]);
    expect(readers(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])).toHaveLength(5);
  });

  it("sees an input rebuilt since a partition was built (an earlier run failed downstream)", () => {
    const { snapshot, partitions } = builtState(base);
    const events = partitions.get("events")!;
    events.set("2024-01-02", { ...events.get("2024-01-02")!, liveVersion: 999 });
    const plan = createPlan({ ...base, state: snapshot, asOf });
    expect(tasksOf(plan)).toEqual(["active 2024-01-02 upstream-changed", "revenue 2024-01-02 upstream-changed", "summary * upstream-changed"]);
  });

  it("plans a new day and the unpartitioned reader whose input set grew", () => {
    const { snapshot } = builtState(base);
    const plan = createPlan({ ...base, state: snapshot, asOf: new Date("2024-01-07T00:00:00Z") });
    expect(tasksOf(plan)).toEqual(["events 2024-01-06 missing", "active 2024-01-06 missing", "revenue 2024-01-06 missing", "summary * upstream-changed"]);
  });

  it("lists datasets that left the code as removed, without tasks", () => {
    const { snapshot } = builtState(base);
    const smaller = project(ds("events", "e1"), ds("active", "a1", ["events"]), ds("summary", "s1", ["active"], { kind: "unpartitioned" }));
    const plan = createPlan({ ...smaller, state: snapshot, asOf });
    expect(plan.tasks).toEqual([]);
    expect(plan.datasets.find((d) => d.name === "revenue")).toEqual({ name: "revenue", change: "removed", partitionCount: 0, previousFingerprint: "r1" });
  });

  it("clips a daily dataset to the days its identity input has", () => {
    const p = project(ds("events", "e1", [], daily({ start: "2024-01-02", end: "2024-01-03" })), ds("active", "a1", ["events"]));
    expect(effectivePartitionKeys(p.datasets, p.order, asOf).get("active")).toEqual(["2024-01-02", "2024-01-03"]);
  });

  // Key lists are computed once per scheme and shared: clipping one dataset must not clip its siblings.
  it("clips through chains of identity inputs and leaves datasets of the same scheme alone", () => {
    const p = project(
      ds("events", "e1"),
      ds("late", "l1", ["events"], daily({ start: "2024-01-03" })),
      ds("after_late", "x1", ["late"]),
      ds("sibling", "s1", ["events"]),
      ds("both", "b1", ["sibling", "after_late"]),
    );
    const keys = effectivePartitionKeys(p.datasets, p.order, asOf);
    const all = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"];
    expect(Object.fromEntries(keys)).toEqual({ events: all, late: all.slice(2), after_late: all.slice(2), sibling: all, both: all.slice(2) });
  });

  // A plan asks for them three times: the same project, order and instant give the same (shared) lists.
  it("computes the keys once per project, order, instant and completeness", () => {
    const p = project(ds("events", "e1"), ds("active", "a1", ["events"]));
    const keys = effectivePartitionKeys(p.datasets, p.order, asOf);
    expect(effectivePartitionKeys(p.datasets, p.order, new Date(asOf.getTime()))).toBe(keys);
    const later = effectivePartitionKeys(p.datasets, p.order, new Date("2024-01-07T00:00:00Z"));
    expect(later).not.toBe(keys);
    expect(later.get("active")).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]);
    expect(keys.get("active")).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]);
    expect(effectivePartitionKeys(p.datasets, p.order, asOf, true)).not.toBe(keys);
    expect(effectivePartitionKeys(p.datasets, [...p.order], asOf)).not.toBe(keys);
    expect(effectivePartitionKeys(new Map(p.datasets), p.order, asOf)).not.toBe(keys);
  });
});
