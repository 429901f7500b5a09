import { describe, expect, it } from "vitest";
import { planJsonChunks, planToJson, savedPlanChunks, toSavedPlan, type Plan, type PlannedTask } from "../src/index.js";

const asOf = new Date("2024-01-06T00:00:00Z");
const NO_INPUTS = Object.freeze([]);

function task(dataset: string, partition: string, extra: Partial<PlannedTask> = {}): PlannedTask {
  return { dataset, partition, reason: "upstream-changed", fingerprint: "f", inputs: NO_INPUTS, ...extra };
}

/** What `reflow plan --json` printed before: one JSON.stringify of the whole. */
const stringified = (plan: Plan, more: Record<string, unknown> = {}) => `${JSON.stringify({ ...planToJson(plan), ...more }, null, 2)}\n`;

describe("planJsonChunks", () => {
  it("prints what JSON.stringify prints of planToJson and the extra fields, every optional field present", () => {
    const plan: Plan = {
      asOf,
      datasets: [
        { name: "clean", change: "modified", partitionCount: 2, category: "non-breaking", why: "non-breaking (--non-breaking)" },
        { name: "report", change: "unchanged", partitionCount: 2 },
        { name: 'odd "name"\n', change: "added", partitionCount: 1 },
      ],
      tasks: [
        task("clean", "2024-01-01", { reason: "code-changed" }),
        task("clean", "2024-01-02", { reason: "code-changed", incomplete: true }),
        task("report", "2024-01-01", { keep: true }),
        task("report", "2024-01-02", { keep: true }),
        task('odd "name"\n', "2024-01-01", { reason: "missing" }),
      ],
      summary: { tasks: 3, datasets: 2, kept: 2 },
      accepted: [{ dataset: "old", fingerprint: "f0", partitions: ["2024-01-01", "2024-01-02"] }],
      warnings: [
        {
          dataset: "clean",
          message: "warning: clean will have 2 logic versions live",
          versions: [{ fingerprint: "f", label: "this plan", ranges: [{ first: "2024-01-01", last: "2024-01-02", count: 2 }] }],
        },
      ],
    };
    // `warnings` given again replaces the plan's in its place; new fields follow `summary`.
    const more = { warnings: [{ message: "env" }, ...plan.warnings!], diffs: [{ dataset: "clean", parts: [] }], nothing: undefined };
    expect([...planJsonChunks(plan, more)].join("")).toBe(stringified(plan, more));
    expect([...planJsonChunks(plan)].join("")).toBe(stringified(plan));
  });

  it("prints empty task lists and leaves out the optional fields a plan does not have", () => {
    const plan: Plan = { asOf, datasets: [], tasks: [], summary: { tasks: 0, datasets: 0 } };
    const text = [...planJsonChunks(plan, { warnings: [], diffs: [] })].join("");
    expect(text).toBe(stringified(plan, { warnings: [], diffs: [] }));
    expect(text).toBe('{\n  "asOf": "2024-01-06T00:00:00.000Z",\n  "datasets": [],\n  "tasks": [],\n  "summary": {\n    "tasks": 0,\n    "datasets": 0\n  },\n  "warnings": [],\n  "diffs": []\n}\n');
  });

  it("cuts a long plan into chunks of about 64 KB", () => {
    const tasks = Array.from({ length: 5000 }, (_, i) => task(`d${i % 7}`, `2024-01-${String(i % 28).padStart(2, "0")}`, i % 3 === 0 ? { keep: true } : {}));
    const plan: Plan = { asOf, datasets: [], tasks, summary: { tasks: 3333, datasets: 7, kept: 1667 } };
    const chunks = [...planJsonChunks(plan)];
    expect(chunks.join("")).toBe(stringified(plan));
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(64 * 1024);
    for (const chunk of chunks) expect(chunk.length).toBeLessThan(64 * 1024 + 200);
  });

  it("prints a saved plan as JSON.stringify prints toSavedPlan, with or without category flags", () => {
    const plan: Plan = {
      asOf,
      datasets: [
        { name: "clean", change: "modified", partitionCount: 2, fingerprint: "c2", previousFingerprint: "c1", category: "non-breaking", why: "non-breaking (--non-breaking)" },
        { name: "report", change: "unchanged", partitionCount: 2, fingerprint: "r1" },
      ],
      tasks: [task("clean", "2024-01-01", { reason: "code-changed" }), task("report", "2024-01-01", { keep: true })],
      summary: { tasks: 1, datasets: 1, kept: 1 },
    };
    const createdAt = new Date("2024-01-06T12:00:00Z");
    for (const flags of [undefined, {}, { nonBreaking: ["clean"] }]) {
      expect([...savedPlanChunks(plan, createdAt, flags)].join("")).toBe(`${JSON.stringify(toSavedPlan(plan, createdAt, flags), null, 2)}\n`);
    }
  });
});
