import { describe, expect, it } from "vitest";
import { daily } from "@reflow/core";
import type { DatasetState, PartitionState, StateSnapshot } from "@reflow/state";
import { createPlan, limitPlan, parseSavedPlan, planDigest, planToJson, toSavedPlan, withMixedLogicWarnings, type CategoryChoice, type Plan, type PlannableDataset } from "../src/index.js";

// Three days built (2024-01-01 … 03) as of 01-04; as of 01-06 two more exist.
const BUILT_AS_OF = new Date("2024-01-04T00:00:00Z");
const LATER = new Date("2024-01-06T00:00:00Z");
const DAYS = ["2024-01-01", "2024-01-02", "2024-01-03"];
const scheme = daily({ start: "2024-01-01" });

/** raw → clean → report (daily, identity), and summary (unpartitioned) reading report. */
function dataset(name: string, fingerprint: string, input?: string, metadata?: string): PlannableDataset {
  return {
    name,
    kind: input ? "dataset" : "source",
    partitions: name === "summary" ? { kind: "unpartitioned" } : scheme,
    fingerprint,
    inputs: input ? [{ alias: input, dataset: input, mapping: { kind: name === "summary" ? "all" : "identity" } }] : [],
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

const ORDER = ["raw", "clean", "report", "summary"];
const INPUT: Record<string, string | undefined> = { raw: undefined, clean: "raw", report: "clean", summary: "report" };

/** Each dataset with fingerprint `<name>1` unless overridden. */
function projectWith(overrides: Record<string, string> = {}, metadata: Record<string, string> = {}) {
  const datasets = new Map(ORDER.map((name) => [name, dataset(name, overrides[name] ?? `${name}1`, INPUT[name], metadata[name])]));
  return { datasets, order: ORDER };
}

/**
 * State after one apply (run 1) as of 2024-01-04 with every fingerprint `<name>1`:
 * raw has versions 1–3, clean 11–13, report 21–23, summary 31 (reading report's three).
 */
function builtState(extra: { partition?: (name: string, key: string) => Partial<PartitionState>; datasets?: Record<string, Partial<DatasetState>> } = {}): StateSnapshot {
  const base: Record<string, number> = { raw: 1, clean: 11, report: 21 };
  const partitions = new Map<string, Map<string, PartitionState>>();
  for (const name of ["raw", "clean", "report"]) {
    const input = INPUT[name];
    partitions.set(
      name,
      new Map(
        DAYS.map((key, i) => [
          key,
          {
            status: "built" as const,
            liveVersion: base[name]! + i,
            fingerprint: `${name}1`,
            liveRun: 1,
            inputs: input ? { [input]: { [key]: base[input]! + i } } : {},
            ...extra.partition?.(name, key),
          },
        ]),
      ),
    );
  }
  partitions.set("summary", new Map([["*", { status: "built", liveVersion: 31, fingerprint: "summary1", liveRun: 1, inputs: { report: { "2024-01-01": 21, "2024-01-02": 22, "2024-01-03": 23 } } }]]));
  const datasets = new Map(ORDER.map((name) => [name, { name, kind: "dataset", fingerprint: `${name}1`, ...extra.datasets?.[name] }]));
  return { datasets, partitions };
}

function plan(project: ReturnType<typeof projectWith>, state: StateSnapshot, options: { categories?: Record<string, CategoryChoice>; forwardFrom?: string; asOf?: Date } = {}): Plan {
  return createPlan({
    ...project,
    state,
    asOf: options.asOf ?? BUILT_AS_OF,
    ...(options.categories ? { categories: new Map(Object.entries(options.categories)) } : {}),
    ...(options.forwardFrom ? { forwardFrom: options.forwardFrom } : {}),
  });
}

const tasksOf = (p: Plan) => p.tasks.map((t) => `${t.dataset} ${t.partition} ${t.reason}${t.keep ? " keep" : ""}`);
const changeOf = (p: Plan, name: string) => p.datasets.find((d) => d.name === name)!;

describe("change categories", () => {
  const cleanChanged = projectWith({ clean: "clean2" });

  it("breaking (the default) rebuilds the dataset's full history and everything downstream", () => {
    const p = plan(cleanChanged, builtState());
    expect(tasksOf(p)).toEqual([
      "clean 2024-01-01 code-changed",
      "clean 2024-01-02 code-changed",
      "clean 2024-01-03 code-changed",
      "report 2024-01-01 upstream-changed",
      "report 2024-01-02 upstream-changed",
      "report 2024-01-03 upstream-changed",
      "summary * upstream-changed",
    ]);
    expect(changeOf(p, "clean")).toMatchObject({ change: "modified", category: "breaking", why: "breaking (default)" });
    expect(p.accepted).toBeUndefined();
  });

  it("non-breaking rebuilds the dataset; its readers only record the new input versions, and theirs are untouched", () => {
    const p = plan(cleanChanged, builtState(), { categories: { clean: { category: "non-breaking", why: "--non-breaking" } } });
    expect(tasksOf(p)).toEqual([
      "clean 2024-01-01 code-changed",
      "clean 2024-01-02 code-changed",
      "clean 2024-01-03 code-changed",
      "report 2024-01-01 upstream-changed keep",
      "report 2024-01-02 upstream-changed keep",
      "report 2024-01-03 upstream-changed keep",
    ]);
    expect(p.summary).toEqual({ tasks: 3, datasets: 1, kept: 3 });
    expect(changeOf(p, "clean").why).toBe("non-breaking (--non-breaking)");
    expect(planToJson(p).kept).toEqual(DAYS.map((partition) => ({ dataset: "report", partition })));
    expect(planToJson(p).tasks).toHaveLength(3);
  });

  it("non-breaking does not spare a reader that must be rebuilt for another reason", () => {
    // report's own code changed too: it is rebuilt (code-changed), and so is summary.
    const p = plan(projectWith({ clean: "clean2", report: "report2" }), builtState(), {
      categories: { clean: { category: "non-breaking", why: "--non-breaking" }, report: { category: "breaking", why: "default" } },
    });
    expect(tasksOf(p).filter((t) => !t.startsWith("clean"))).toEqual([
      "report 2024-01-01 code-changed",
      "report 2024-01-02 code-changed",
      "report 2024-01-03 code-changed",
      "summary * upstream-changed",
    ]);
    // An input rebuilt by an earlier run (version 12 is no longer what report read) is a real change.
    const rebuiltEarlier = builtState({ partition: (name, key) => (name === "report" && key === "2024-01-02" ? { inputs: { clean: { "2024-01-02": 9 } } } : {}) });
    const q = plan(cleanChanged, rebuiltEarlier, { categories: { clean: { category: "non-breaking", why: "--non-breaking" } } });
    expect(tasksOf(q).filter((t) => t.startsWith("report") || t.startsWith("summary"))).toEqual([
      "report 2024-01-01 upstream-changed keep",
      "report 2024-01-02 upstream-changed",
      "report 2024-01-03 upstream-changed keep",
      "summary * upstream-changed",
    ]);
  });

  it("forward-only keeps every built partition, builds only new ones with the new code, and lists the kept ones as accepted", () => {
    const p = plan(cleanChanged, builtState(), { categories: { clean: { category: "forward-only", why: "--forward-only" } }, asOf: LATER });
    expect(tasksOf(p)).toEqual([
      "raw 2024-01-04 missing",
      "raw 2024-01-05 missing",
      "clean 2024-01-04 missing",
      "clean 2024-01-05 missing",
      "report 2024-01-04 missing",
      "report 2024-01-05 missing",
      "summary * upstream-changed",
    ]);
    expect(p.accepted).toEqual([{ dataset: "clean", fingerprint: "clean2", partitions: DAYS }]);
    expect(changeOf(p, "clean").why).toBe("forward-only (--forward-only): 3 built partitions keep their old logic");
  });

  it("forward-only with --from rebuilds from that key on and accepts only what lies before it", () => {
    const p = plan(cleanChanged, builtState(), { categories: { clean: { category: "forward-only", why: "--forward-only" } }, forwardFrom: "2024-01-02" });
    expect(tasksOf(p)).toEqual([
      "clean 2024-01-02 code-changed",
      "clean 2024-01-03 code-changed",
      "report 2024-01-02 upstream-changed",
      "report 2024-01-03 upstream-changed",
      "summary * upstream-changed",
    ]);
    expect(p.accepted).toEqual([{ dataset: "clean", fingerprint: "clean2", partitions: ["2024-01-01"] }]);
    expect(changeOf(p, "clean").why).toBe("forward-only (--forward-only, from 2024-01-02): 1 built partition keeps its old logic");
    // A restated partition (backfill --restate) is rebuilt, not accepted.
    const restated = createPlan({
      ...cleanChanged,
      state: builtState(),
      asOf: BUILT_AS_OF,
      categories: new Map([["clean", { category: "forward-only", why: "--forward-only" }]]),
      restate: new Map([["clean", new Set(["2024-01-01"])]]),
    });
    expect(tasksOf(restated).filter((t) => t.startsWith("clean"))).toEqual(["clean 2024-01-01 code-changed"]);
    expect(restated.accepted).toEqual([{ dataset: "clean", fingerprint: "clean2", partitions: ["2024-01-02", "2024-01-03"] }]);
  });

  it("a partition accepted under the current fingerprint is up to date, and code-changed again once the code changes again", () => {
    const accepted = builtState({
      partition: (name) => (name === "clean" ? { acceptedFingerprint: "clean2" } : {}),
      datasets: { clean: { fingerprint: "clean2" } },
    });
    expect(tasksOf(plan(cleanChanged, accepted))).toEqual([]);
    expect(changeOf(plan(cleanChanged, accepted), "clean").change).toBe("unchanged");
    const again = plan(projectWith({ clean: "clean3" }), accepted);
    expect(tasksOf(again).filter((t) => t.startsWith("clean"))).toEqual(DAYS.map((d) => `clean ${d} code-changed`));
  });

  it("metadata only: modified, nothing rebuilt, and the new metadata is in the plan to be recorded", () => {
    const state = builtState({ datasets: { report: { metadata: '{"owner":"bi"}' } } });
    const p = plan(projectWith({}, { report: '{"description":"Daily report","owner":"finance"}' }), state);
    expect(p.tasks).toEqual([]);
    expect(changeOf(p, "report")).toMatchObject({
      change: "modified",
      category: "metadata",
      why: "metadata only: recorded, nothing rebuilt (description, owner changed)",
      metadata: '{"description":"Daily report","owner":"finance"}',
    });
    // Never recorded and still empty: no change.
    expect(changeOf(plan(projectWith({}, { clean: "{}" }), builtState()), "clean").change).toBe("unchanged");
  });
});

describe("mixed-logic warnings", () => {
  const context = (project: ReturnType<typeof projectWith>, state: StateSnapshot) => ({ ...project, state });

  it("warn when a forward-only plan leaves the old logic live next to the new, naming the run whose code it is", () => {
    const project = projectWith({ clean: "clean2" });
    const state = builtState();
    const p = withMixedLogicWarnings(plan(project, state, { categories: { clean: { category: "forward-only", why: "--forward-only" } }, asOf: LATER }), context(project, state));
    expect(p.warnings?.map((w) => w.message)).toEqual(["warning: clean will have 2 logic versions live: 2024-01-01…2024-01-03 (code of run 1), 2024-01-04… (this plan)"]);
    expect(p.warnings?.[0]?.versions).toEqual([
      { fingerprint: "clean1", label: "code of run 1", ranges: [{ first: "2024-01-01", last: "2024-01-03", count: 3 }] },
      { fingerprint: "clean2", label: "this plan", ranges: [{ first: "2024-01-04", last: "2024-01-05", count: 2 }] },
    ]);
  });

  it("warn when --max-tasks cuts a breaking change short, and not for the full plan", () => {
    const project = projectWith({ clean: "clean2" });
    const state = builtState();
    const full = plan(project, state);
    expect(withMixedLogicWarnings(full, context(project, state)).warnings).toBeUndefined();
    const cut = withMixedLogicWarnings(limitPlan(full, 2), context(project, state));
    expect(cut.warnings?.map((w) => w.message)).toEqual(["warning: clean will have 2 logic versions live: 2024-01-01…2024-01-02 (this plan), 2024-01-03… (code of run 1)"]);
  });
});

describe("saved plans with categories", () => {
  it("keep the flags they were made with, and their digest tells the categories apart", () => {
    const project = projectWith({ clean: "clean2" });
    const forward = plan(project, builtState(), { categories: { clean: { category: "forward-only", why: "--forward-only" } } });
    const saved = toSavedPlan(forward, new Date("2024-01-04T00:00:00Z"), { forwardOnly: ["clean"] });
    const parsed = parseSavedPlan(JSON.stringify(saved), "plan.json");
    expect(parsed.categoryFlags).toEqual({ forwardOnly: ["clean"] });
    expect(parsed.digest).toBe(planDigest(forward));
    expect(planDigest(plan(project, builtState()))).not.toBe(parsed.digest);
    expect(toSavedPlan(forward, new Date(), {})).not.toHaveProperty("categoryFlags");
  });
});
