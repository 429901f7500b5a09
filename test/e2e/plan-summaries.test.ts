import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { applyProject, observeSources, planFor, rollbackDataset, type CompiledProject } from "@reflow/api";
import { openStateStore, type StateSnapshot } from "@reflow/state";
import { afterEach, describe, expect, it } from "vitest";
import { TempProject } from "../support/temp-project.js";

/**
 * The planner skips datasets whose state summaries prove them up to date
 * (packages/planner `provablyUpToDate`, on-demand SQLite snapshots). Each
 * case plans the same state twice, from a snapshot read whole and from one
 * read on demand, and checks that the plans are identical, exactly what they
 * are, and which datasets' partitions the on-demand plan read.
 */

const asOf = new Date("2024-01-08T00:00:00Z"); // 7 complete days: 2024-01-01 … 2024-01-07
const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `2024-01-0${from + i}`);

function pipelines(failDir: string): string {
  return `import { existsSync } from "node:fs";
import { daily, dataset, source, window } from "@reflow/core";
import { z } from "zod";

const row = z.object({ day: z.string(), n: z.number() });
const partitions = daily({ start: "2024-01-01" });

export const events = source("events", {
  partitions,
  schema: row,
  sourceVersion: () => "v1",
  read: ({ partition }) => [{ day: partition.key, n: 1 }],
});

export const clean = dataset("clean", {
  partitions,
  inputs: { events },
  schema: row,
  transform: async ({ inputs, partition }) => {
    if (existsSync(${JSON.stringify(failDir)} + "/" + partition.key)) throw new Error("told to fail");
    let n = 0;
    for await (const r of inputs.events) n += r.n;
    return [{ day: partition.key, n }];
  },
});

export const rolling = dataset("rolling", {
  partitions,
  inputs: { clean: window(clean, { days: 3 }) },
  schema: row,
  transform: async ({ inputs, partition }) => {
    let n = 0;
    for await (const r of inputs.clean) n += r.n;
    return [{ day: partition.key, n }];
  },
});

// A chain nothing in these cases touches: planning never reads its partitions.
export const other = source("other", {
  partitions,
  schema: row,
  observe: false,
  read: ({ partition }) => [{ day: partition.key, n: 2 }],
});

export const other_daily = dataset("other_daily", {
  partitions,
  inputs: { other },
  schema: row,
  transform: async ({ inputs, partition }) => {
    let n = 0;
    for await (const r of inputs.other) n += r.n;
    return [{ day: partition.key, n }];
  },
});
`;
}

interface BothPlans {
  /** `dataset partition reason`, in plan order. */
  readonly tasks: readonly string[];
  /** Datasets whose partitions the on-demand plan read. */
  readonly read: readonly string[];
}

/** Plans the project's state whole and on demand; throws unless the two plans are identical. */
async function planBoth(project: TempProject, at: Date, applied: { readonly project: CompiledProject }): Promise<BothPlans> {
  const store = (await openStateStore(path.join(project.dir, ".reflow/state.db"), "read"))!;
  try {
    const whole = await store.reader.snapshot();
    const wholePlan = planFor(applied.project, whole, at, await observeSources(applied.project, whole, at));
    const onDemand = await store.reader.snapshot({ onDemand: true });
    const read = new Set<string>();
    const recording: StateSnapshot = {
      ...onDemand,
      partitions: {
        get(name: string) {
          read.add(name);
          return onDemand.partitions.get(name);
        },
      } as StateSnapshot["partitions"],
    };
    const onDemandPlan = planFor(applied.project, recording, at, await observeSources(applied.project, recording, at));
    expect(onDemandPlan).toEqual(wholePlan);
    return { tasks: onDemandPlan.tasks.map((t) => `${t.dataset} ${t.partition} ${t.reason}`), read: [...read].sort() };
  } finally {
    await store.close();
  }
}

describe("plan: datasets proven up to date by the state's summaries", () => {
  const projects: TempProject[] = [];
  afterEach(() => {
    for (const p of projects.splice(0)) p.dispose();
  });

  async function builtProject(): Promise<{ project: TempProject; failDir: string; applied: Awaited<ReturnType<typeof applyProject>> }> {
    const project = new TempProject();
    projects.push(project);
    const failDir = path.join(project.dir, "fail");
    project.write("fail/.keep", "");
    project.write("pipelines/all.ts", pipelines(failDir));
    const applied = await applyProject({ projectDir: project.dir, asOf });
    expect(applied.result?.failed ?? []).toHaveLength(0);
    return { project, failDir, applied };
  }

  it("reads no partitions of a built project, not even the observed source's (its sourceVersion() is compared with the recorded versions)", async () => {
    const { project, applied } = await builtProject();
    expect(await planBoth(project, asOf, applied)).toEqual({ tasks: [], read: [] });
  });

  it("an observed source whose sourceVersion() changed for one day: that day and its readers are planned", async () => {
    const { project, applied } = await builtProject();
    // As if the source's data changed on 2024-01-03: same code, another version observed.
    const datasets = new Map(
      [...applied.project.datasets].map(([name, d]) => [
        name,
        name === "events" ? { ...d, declaration: { ...d.declaration, sourceVersion: ({ partition }: { partition: { key: string } }) => (partition.key === "2024-01-03" ? "v2" : "v1") } } : d,
      ]),
    );
    expect(await planBoth(project, asOf, { project: { ...applied.project, datasets } })).toEqual({
      tasks: ["events 2024-01-03 source-changed", "clean 2024-01-03 upstream-changed", ...days(3, 5).map((d) => `rolling ${d} upstream-changed`)],
      // events is read for the live versions clean's other days recorded, not to decide its own.
      read: ["clean", "events", "rolling"],
    });
  });

  it("a code change: the changed dataset and the readers of every rebuilt partition are planned without reading theirs", async () => {
    const { project, applied } = await builtProject();
    // As if clean's code were edited: only its fingerprint differs from the state's.
    const datasets = new Map([...applied.project.datasets].map(([name, d]) => [name, name === "clean" ? { ...d, fingerprint: "edited-clean" } : d]));
    expect(await planBoth(project, asOf, { project: { ...applied.project, datasets } })).toEqual({
      tasks: [...days(1, 7).map((d) => `clean ${d} code-changed`), ...days(1, 7).map((d) => `rolling ${d} upstream-changed`)],
      // clean's summary proves every partition built by its old code: only the keys of its live partitions are read.
      read: [],
    });
  });

  it("a new partition day: every dataset is read and plans it", async () => {
    const { project, applied } = await builtProject();
    const next = new Date("2024-01-09T00:00:00Z");
    expect(await planBoth(project, next, applied)).toEqual({
      tasks: ["events 2024-01-08 missing", "clean 2024-01-08 missing", "other 2024-01-08 missing", "other_daily 2024-01-08 missing", "rolling 2024-01-08 missing"],
      read: ["clean", "events", "other", "other_daily", "rolling"],
    });
  });

  it("an input rebuilt after its reader: the reader's partitions that read it are upstream-changed", async () => {
    const { project } = await builtProject();
    // Restate one day of clean without its readers: rolling now holds what it read before.
    const restated = await applyProject({ projectDir: project.dir, asOf, backfill: { dataset: "clean", from: "2024-01-02", to: "2024-01-02", restate: true } });
    expect(restated.plan.tasks.map((t) => `${t.dataset} ${t.partition}`)).toEqual(["clean 2024-01-02"]);
    expect(await planBoth(project, asOf, restated)).toEqual({
      tasks: days(2, 4).map((d) => `rolling ${d} upstream-changed`),
      read: ["clean", "rolling"],
    });
  });

  it("a failed partition is planned, and so are its readers", async () => {
    const { project, failDir } = await builtProject();
    writeFileSync(path.join(failDir, "2024-01-03"), "");
    const failed = await applyProject({ projectDir: project.dir, asOf, backfill: { dataset: "clean", from: "2024-01-03", to: "2024-01-03", restate: true } });
    expect(failed.result?.failed.map((t) => `${t.dataset} ${t.partition}`)).toEqual(["clean 2024-01-03"]);
    rmSync(path.join(failDir, "2024-01-03"));
    expect(await planBoth(project, asOf, failed)).toEqual({
      tasks: ["clean 2024-01-03 failed", ...days(3, 5).map((d) => `rolling ${d} upstream-changed`)],
      read: ["clean", "events", "rolling"],
    });
  });

  it("a rollback to an older version, pinned: the input is left alone but its readers are rebuilt", async () => {
    const { project, applied } = await builtProject();
    await applyProject({ projectDir: project.dir, asOf, backfill: { dataset: "clean", from: "2024-01-02", to: "2024-01-02", restate: true, downstream: true } });
    // Every rolling partition has now recorded its inputs after clean's newest version; the rollback makes an older one live.
    const rolledBack = await rollbackDataset({ projectDir: project.dir, dataset: "clean", from: "2024-01-02", to: "2024-01-02", pin: true });
    expect(rolledBack.plan.steps).toHaveLength(1);
    expect(await planBoth(project, asOf, applied)).toEqual({
      tasks: days(2, 4).map((d) => `rolling ${d} upstream-changed`),
      read: ["clean", "events", "rolling"],
    });
  });
});
