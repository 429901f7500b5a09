import { describe, expect, it } from "vitest";
import { z } from "zod";
import { daily, dataset, previous, ref, source, type DatasetDeclaration } from "@reflow/core";
import { buildLineageGraph, graphlib, topologicalOrder } from "../src/index.js";

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

  it("keeps each edge once, in the order added, and gives the same as a graphlib Graph", () => {
    const lineage = buildLineageGraph([src("raw"), ds("a", ["raw"]), ds("b", ["a", "raw"]), ds("c", ["b", "a"])]);
    expect(lineage.nodes).toEqual(["raw", "a", "b", "c"]);
    expect(lineage.edges).toEqual([
      ["raw", "a"],
      ["a", "b"],
      ["raw", "b"],
      ["b", "c"],
      ["a", "c"],
    ]);
    expect([...lineage.successors.get("a")!]).toEqual(["b", "c"]);
    expect([...lineage.predecessors.get("c")!]).toEqual(["b", "a"]);
    const graph = graphlib(lineage);
    expect(graph.nodes()).toEqual(["raw", "a", "b", "c"]);
    expect(graph.edges()).toEqual(lineage.edges.map(([v, w]) => ({ v, w })));
    expect(graph.isDirected()).toBe(true);
  });

  it("orders a chain of 5,000 datasets (graphlib's recursion overflowed the stack), and finds a cycle at its end", () => {
    // Only what the graph reads: declaring 5,000 datasets through dataset() takes seconds here.
    const declared = (name: string, inputs: string[]) => ({ name, inputs: inputs.map((i) => ({ alias: i, dataset: i })) }) as unknown as DatasetDeclaration;
    const chain = [declared("n0", []), ...Array.from({ length: 5_000 }, (_, i) => declared(`n${i + 1}`, [`n${i}`]))];
    expect(topologicalOrder(buildLineageGraph(chain))).toEqual(chain.map((d) => d.name));
    const looped = [...chain.slice(0, -1), declared("n5000", ["n4999", "n5000"])];
    expect(errorOf(looped).message).toMatch(/datasets form a cycle: n5000 → n5000\n/);
    const circle = [declared("n0", ["n5000"]), ...chain.slice(1)];
    expect(errorOf(circle).message.split("\n")[0]).toBe(`datasets form a cycle: ${chain.map((d) => d.name).join(" → ")} → n0`);
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
