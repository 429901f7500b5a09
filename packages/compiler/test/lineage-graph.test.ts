import { describe, expect, it } from "vitest";
import { z } from "zod";
import { daily, dataset, previous, ref, source, type DatasetDeclaration } from "@reflow/core";
import { buildLineageGraph, topologicalOrder } from "../src/index.js";

const schema = z.object({ n: z.number() });
const days = daily({ start: "2024-01-01" });
const src = (name: string) => source(name, { partitions: days, schema, read: () => [] });
const ds = (name: string, inputs: string[]) =>
  dataset(name, { partitions: days, schema, inputs: Object.fromEntries(inputs.map((i) => [i, ref(i)])), transform: () => [] });

function errorOf(declarations: DatasetDeclaration[]) {
  try {
    buildLineageGraph(declarations);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected an error");
}

describe("buildLineageGraph", () => {
  it("orders datasets so inputs come first, ties by name", () => {
    const graph = buildLineageGraph([ds("z_report", ["b_clean", "a_clean"]), ds("b_clean", ["raw"]), ds("a_clean", ["raw"]), src("raw")]);
    expect(topologicalOrder(graph)).toEqual(["raw", "a_clean", "b_clean", "z_report"]);
  });

  it("prints the cycle path with each dataset's location", () => {
    const error = errorOf([src("raw"), ds("a", ["raw", "c"]), ds("b", ["a"]), ds("c", ["b"])]);
    expect(error.code).toBe("REFLOW_CYCLE");
    expect(error.message).toMatch(/^packages\/compiler\/test\/lineage-graph\.test\.ts:\d+:\d+: datasets form a cycle: a → b → c → a\n/);
    expect(error.message.split("\n").slice(1).map((l) => l.replace(/:\d+:\d+\)$/, ")"))).toEqual([
      "  a (packages/compiler/test/lineage-graph.test.ts)",
      "  b (packages/compiler/test/lineage-graph.test.ts)",
      "  c (packages/compiler/test/lineage-graph.test.ts)",
    ]);
  });

  it("accepts a dataset reading its own previous partition, and still refuses real cycles through it", () => {
    const total = dataset("total", { partitions: days, schema, inputs: { events: ref("events"), prior: previous() }, transform: () => [] });
    expect(total.inputs).toEqual([{ alias: "events", dataset: "events" }, { alias: "prior", dataset: "total", mapping: { kind: "previous" } }]);
    expect(topologicalOrder(buildLineageGraph([src("events"), total, ds("report", ["total"])]))).toEqual(["events", "total", "report"]);
    const loop = dataset("total", { partitions: days, schema, inputs: { prior: previous(), report: ref("report") }, transform: () => [] });
    expect(errorOf([loop, ds("report", ["total"])]).message).toMatch(/datasets form a cycle: report → total → report\n/);
  });

  it("refuses a dataset reading itself other than through previous()", () => {
    const error = errorOf([ds("total", ["total"])]);
    expect(error.code).toBe("REFLOW_CYCLE");
    expect(error.message).toMatch(/: datasets form a cycle: total → total\n/);
  });

  it("names an unknown input and suggests the closest name", () => {
    const error = errorOf([src("events"), ds("daily", ["evnets"])]);
    expect(error.code).toBe("REFLOW_UNKNOWN_INPUT");
    expect(error.message).toMatch(/: dataset "daily": input "evnets" refers to unknown dataset "evnets" \(did you mean "events"\?\)$/);
  });

  it("names both places of a duplicate name", () => {
    const error = errorOf([src("events"), src("events")]);
    expect(error.code).toBe("REFLOW_DUPLICATE_NAME");
    expect(error.message).toMatch(
      /^packages\/compiler\/test\/lineage-graph\.test\.ts:\d+:\d+: dataset "events" is declared twice: first at packages\/compiler\/test\/lineage-graph\.test\.ts:\d+:\d+, again at packages\/compiler\/test\/lineage-graph\.test\.ts:\d+:\d+$/,
    );
  });
});
