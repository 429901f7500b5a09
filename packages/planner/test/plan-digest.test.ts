import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { planDigest, type Plan, type PlannedTask } from "../src/index.js";

/** The digest as it was defined: SHA-256 of one JSON.stringify of every field as arrays (saved plans hold it). */
function digestAsDefined(plan: Plan): string {
  const canonical = {
    asOf: plan.asOf.toISOString(),
    datasets: plan.datasets.map((d) => [d.name, d.change, d.fingerprint ?? null, d.previousFingerprint ?? null, d.category ?? null, d.why ?? null, d.metadata ?? null]),
    tasks: plan.tasks.map((t) => [t.dataset, t.partition, t.reason, t.fingerprint, t.inputs.map((i) => [i.dataset, i.partitions]), t.keep ?? false]),
    accepted: (plan.accepted ?? []).map((a) => [a.dataset, a.fingerprint, a.partitions]),
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

const asOf = new Date("2024-01-06T00:00:00Z");

function task(dataset: string, partition: string, inputs: PlannedTask["inputs"] = [], extra: Partial<PlannedTask> = {}): PlannedTask {
  return { dataset, partition, reason: "upstream-changed", fingerprint: `${dataset}-f`, inputs, ...extra };
}

describe("planDigest", () => {
  it("is the digest of the plan's fields as JSON, whatever the inputs, keep tasks, acceptances and characters", () => {
    const plan: Plan = {
      asOf,
      datasets: [
        { name: "raw", change: "unchanged", partitionCount: 3, fingerprint: "raw-f" },
        { name: "clean", change: "modified", partitionCount: 3, fingerprint: "c2", previousFingerprint: "c1", category: "non-breaking", why: 'auto: "x"\n', metadata: '{"owner":"é"}' },
        { name: "gone", change: "removed", partitionCount: 0, previousFingerprint: "g1" },
      ],
      tasks: [
        task("raw", "2024-01-01", [], { reason: "missing" }),
        task("clean", "2024-01-01", [{ dataset: "raw", partitions: ["2024-01-01"] }], { reason: "code-changed" }),
        task("clean", "2024-01-02", [
          { dataset: "raw", partitions: ["2024-01-01", "2024-01-02"] },
          { dataset: "other", partitions: [] },
        ]),
        task('odd "name"\\\u2028', "k\n", [{ dataset: "clean", partitions: ["2024-01-01"] }], { keep: true }),
        task("month", "2024-01", [{ dataset: "clean", partitions: ["2024-01-01", "2024-01-02"] }], { incomplete: true }),
      ],
      summary: { tasks: 4, datasets: 3, kept: 1 },
      accepted: [{ dataset: "old", fingerprint: "o2", partitions: ["2024-01-01", "2024-01-02"] }],
    };
    expect(planDigest(plan)).toBe(digestAsDefined(plan));
    expect(planDigest({ asOf, datasets: [], tasks: [], summary: { tasks: 0, datasets: 0 } })).toBe(digestAsDefined({ asOf, datasets: [], tasks: [], summary: { tasks: 0, datasets: 0 } }));
  });

  it("hashes a plan of many tasks, in chunks, the same", () => {
    const tasks = Array.from({ length: 20_000 }, (_, i) =>
      task(`d${i % 13}`, `2024-${String((i % 12) + 1).padStart(2, "0")}-01`, [{ dataset: `d${i % 7}`, partitions: [`k${i % 5}`] }], i % 4 === 0 ? { keep: true } : {}),
    );
    const plan: Plan = { asOf, datasets: [], tasks, summary: { tasks: 15_000, datasets: 13, kept: 5_000 } };
    expect(planDigest(plan)).toBe(digestAsDefined(plan));
  });
});
