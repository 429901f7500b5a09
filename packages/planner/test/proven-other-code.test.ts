import { describe, expect, it } from "vitest";
import { daily } from "@reflow/core";
import type { DatasetSummary, PartitionState, StateSnapshot } from "@reflow/state";
import { createPlan, type CategoryChoice, type Plan, type PlannableDataset } from "../src/index.js";

/**
 * A dataset whose code changed is planned from the keys of its live
 * partitions (`liveKeys`, else `liveSourceVersions`) when its summary proves every partition
 * built by the one other fingerprint, complete, not accepted and never rolled
 * back. Each case plans one state from a snapshot with summaries and from one
 * without, checks the plans are identical and exactly what they are, and
 * which datasets' partitions the first read.
 */

const AS_OF = new Date("2024-01-05T00:00:00Z"); // 2024-01-01 … 2024-01-04
const DAYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"];
const scheme = daily({ start: "2024-01-01" });

function dataset(name: string, fingerprint: string, input?: string): PlannableDataset {
  return { name, kind: input ? "dataset" : "source", partitions: scheme, fingerprint, inputs: input ? [{ alias: input, dataset: input, mapping: { kind: "identity" } }] : [] };
}

/** raw → clean → report, clean's code changed (`clean2`; the state holds `clean1`). */
const project = {
  datasets: new Map([dataset("raw", "raw1"), dataset("clean", "clean2", "raw"), dataset("report", "report1", "clean")].map((d) => [d.name, d])),
  order: ["raw", "clean", "report"],
};

const built = (liveVersion: number, fingerprint: string, inputs: PartitionState["inputs"] = {}): PartitionState => ({ status: "built", liveVersion, fingerprint, inputs });

/** Every day built once by the `…1` code; `clean` as `cleanRows` says when given. */
function partitionsOf(cleanRows?: Map<string, PartitionState>): Map<string, Map<string, PartitionState>> {
  const raw = new Map(DAYS.map((day, i) => [day, built(1 + i, "raw1")]));
  const clean = cleanRows ?? new Map(DAYS.map((day, i) => [day, built(11 + i, "clean1", { raw: { [day]: 1 + i } })]));
  const report = new Map(DAYS.map((day, i) => [day, built(21 + i, "report1", { clean: { [day]: clean.get(day)?.liveVersion ?? 0 } })]));
  return new Map([
    ["raw", raw],
    ["clean", clean],
    ["report", report],
  ]);
}

/** What the stored summary of a dataset's partitions says (`dataset-summaries.ts`); no recorded-input bounds. */
function summaryOf(partitions: ReadonlyMap<string, PartitionState>, rollbacks: number): DatasetSummary {
  const keys = [...partitions.keys()].sort();
  const rows = [...partitions.values()];
  const fingerprints = rows.flatMap((p) => (p.liveVersion !== null && p.fingerprint !== null ? [p.fingerprint] : [])).sort();
  return {
    partitions: rows.length,
    clean: rows.filter((p) => p.status === "built" && p.liveVersion !== null && !p.incomplete && p.acceptedFingerprint === undefined).length,
    firstKey: keys[0]!,
    lastKey: keys[keys.length - 1]!,
    fingerprint: fingerprints.length > 0 && fingerprints[0] === fingerprints[fingerprints.length - 1] ? fingerprints[0]! : null,
    oldestChecked: null,
    newestLive: null,
    rollbacks,
  };
}

function plan(state: StateSnapshot, choice?: CategoryChoice): Plan {
  return createPlan({ ...project, state, asOf: AS_OF, ...(choice ? { categories: new Map([["clean", choice]]) } : {}) });
}

/** The plan from a snapshot with summaries and from one without: identical, as `dataset partition reason`, and the datasets read. */
function planBoth(partitions: Map<string, Map<string, PartitionState>>, options: { choice?: CategoryChoice; rollbacks?: number; keysOnly?: boolean } = {}) {
  const datasets = new Map(project.order.map((name) => [name, { name, kind: project.datasets.get(name)!.kind, fingerprint: name === "clean" ? "clean1" : `${name}1` }]));
  const whole = plan({ datasets, partitions }, options.choice);
  const read = new Set<string>();
  const liveKeysOf = new Set<string>();
  const summarised: StateSnapshot = {
    datasets,
    partitions: {
      get(name: string) {
        read.add(name);
        return partitions.get(name);
      },
    } as StateSnapshot["partitions"],
    summaries: { get: (name) => (partitions.has(name) ? summaryOf(partitions.get(name)!, name === "clean" ? (options.rollbacks ?? 0) : 0) : undefined) },
    liveSourceVersions: (name) => {
      liveKeysOf.add(name);
      const live = new Map<string, string | null>();
      for (const [key, p] of partitions.get(name) ?? []) if (p.status === "built" && p.liveVersion !== null) live.set(key, p.sourceVersion ?? null);
      return live;
    },
    // The snapshot's keys alone, when it offers them (SQLite: no lookup of the live task).
    ...(options.keysOnly
      ? {
          liveKeys: (name: string) => {
            liveKeysOf.add(`${name} (keys)`);
            return new Set([...(partitions.get(name) ?? [])].flatMap(([key, p]) => (p.status === "built" && p.liveVersion !== null ? [key] : [])));
          },
        }
      : {}),
  };
  const onSummaries = plan(summarised, options.choice);
  expect(onSummaries).toEqual(whole);
  return {
    tasks: onSummaries.tasks.map((t) => `${t.dataset} ${t.partition} ${t.reason}${t.keep ? " keep" : ""}`),
    accepted: onSummaries.accepted?.map((a) => `${a.dataset} ${a.partitions.join(",")}`) ?? [],
    read: [...read].sort(),
    liveKeys: [...liveKeysOf].sort(),
  };
}

const rebuiltReaders = DAYS.map((day) => `report ${day} upstream-changed`);

describe("plan: a code change proven built by other code from its summary", () => {
  it("every partition built by the old code: all code-changed, from the live keys alone", () => {
    expect(planBoth(partitionsOf())).toEqual({ tasks: [...DAYS.map((day) => `clean ${day} code-changed`), ...rebuiltReaders], accepted: [], read: [], liveKeys: ["clean"] });
  });

  it("from the snapshot's live keys when it offers them, not their source versions", () => {
    expect(planBoth(partitionsOf(), { keysOnly: true })).toEqual({ tasks: [...DAYS.map((day) => `clean ${day} code-changed`), ...rebuiltReaders], accepted: [], read: [], liveKeys: ["clean (keys)"] });
  });

  it("rows of an older scheme (as many, same first and last key): the day without a partition is missing", () => {
    const rows = partitionsOf().get("clean")!;
    rows.delete("2024-01-03");
    rows.set("2024-01-02T12", built(99, "clean1"));
    expect(planBoth(partitionsOf(rows))).toEqual({
      tasks: ["clean 2024-01-01 code-changed", "clean 2024-01-02 code-changed", "clean 2024-01-03 missing", "clean 2024-01-04 code-changed", ...rebuiltReaders],
      accepted: [],
      read: [],
      liveKeys: ["clean"],
    });
  });

  it("forward-only: the built partitions are accepted, the missing one is built", () => {
    const rows = partitionsOf().get("clean")!;
    rows.delete("2024-01-04");
    expect(planBoth(partitionsOf(rows), { choice: { category: "forward-only", why: "--forward-only" } })).toEqual({
      tasks: ["clean 2024-01-04 missing", "report 2024-01-04 upstream-changed"],
      accepted: ["clean 2024-01-01,2024-01-02,2024-01-03"],
      // report's other days compare the versions they recorded with clean's live ones.
      read: ["clean", "report"],
      liveKeys: ["clean"],
    });
  });

  it("non-breaking: the readers of rebuilt partitions keep theirs, a reader of a missing one is rebuilt", () => {
    const rows = partitionsOf().get("clean")!;
    rows.delete("2024-01-02");
    expect(planBoth(partitionsOf(rows), { choice: { category: "non-breaking", why: "--non-breaking" } })).toEqual({
      tasks: [
        ...["2024-01-01 code-changed", "2024-01-02 missing", "2024-01-03 code-changed", "2024-01-04 code-changed"].map((t) => `clean ${t}`),
        "report 2024-01-01 upstream-changed keep",
        "report 2024-01-02 upstream-changed",
        "report 2024-01-03 upstream-changed keep",
        "report 2024-01-04 upstream-changed keep",
      ],
      accepted: [],
      // report compares the versions its kept partitions recorded with clean's live ones.
      read: ["clean", "report"],
      liveKeys: ["clean"],
    });
  });

  it("a failed partition: the partitions are read, and it stays failed", () => {
    const rows = partitionsOf().get("clean")!;
    rows.set("2024-01-02", { ...rows.get("2024-01-02")!, status: "failed" });
    expect(planBoth(partitionsOf(rows)).tasks).toEqual(["clean 2024-01-01 code-changed", "clean 2024-01-02 failed", "clean 2024-01-03 code-changed", "clean 2024-01-04 code-changed", ...rebuiltReaders]);
    expect(planBoth(partitionsOf(rows)).read).toContain("clean");
  });

  it("a partition built by the new code already, accepted, incomplete or rolled back: the partitions are read", () => {
    const cases: [Partial<PartitionState>, number, string][] = [
      // Built (or accepted) under clean2 from raw's live version: up to date.
      [{ fingerprint: "clean2", inputs: { raw: { "2024-01-02": 2 } } }, 0, ""],
      [{ acceptedFingerprint: "clean2", inputs: { raw: { "2024-01-02": 2 } } }, 0, ""],
      [{ incomplete: true }, 0, "clean 2024-01-02 code-changed"],
      // Rolled back and pinned under clean2: left alone.
      [{ rollback: { runId: 3, codeFingerprint: "clean2", pinned: true } }, 1, ""],
    ];
    for (const [change, rollbacks, second] of cases) {
      const rows = partitionsOf().get("clean")!;
      rows.set("2024-01-02", { ...rows.get("2024-01-02")!, ...change });
      const both = planBoth(partitionsOf(rows), { rollbacks });
      expect(both.read).toContain("clean");
      expect(both.tasks.filter((t) => t.startsWith("clean "))).toEqual(["clean 2024-01-01 code-changed", ...(second ? [second] : []), "clean 2024-01-03 code-changed", "clean 2024-01-04 code-changed"]);
    }
  });
});
