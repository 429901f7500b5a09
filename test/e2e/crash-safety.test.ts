import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { januaryDays, ok, rowsOf, withoutElapsed } from "../support/e2e.js";
import { DATASETS, fixtureFiles } from "../support/fixture.js";
import { REPO_ROOT, TempProject } from "../support/temp-project.js";

/*
 * The fixture over 20 days (61 partitions), every `read` and revenue transform
 * taking a few milliseconds, so that an apply spends about a second building.
 */
const AS_OF = "2024-01-21";
const APPLY = ["apply", "--yes", "--concurrency", "2", "--as-of", AS_OF];
const TOTAL = 61;
const KILLS = Number(process.env.REFLOW_KILL_RUNS ?? 50);

function slowProject(delayMs: number): TempProject {
  const project = new TempProject(fixtureFiles());
  const delay = `    await new Promise((resolve) => setTimeout(resolve, ${delayMs}));\n`;
  project.edit("pipelines/events.ts", "  read: ({ partition }) => {\n", `  read: async ({ partition }) => {\n${delay}`);
  project.edit("pipelines/revenue.ts", "    let total = 0;\n", `${delay}    let total = 0;\n`);
  return project;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `reflow ARGS`; `act(child)` may signal it; resolves when it exits. */
function runCli(project: TempProject, args: readonly string[], act: (child: ReturnType<typeof spawn>) => void): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli/bin/reflow.js"), ...args], {
      cwd: project.dir,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    act(child);
  });
}

/** mulberry32: a small seeded PRNG, so a failing kill schedule can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Live rows per partition: `{ dataset: { partition: [rows as JSON, sorted] } }`. */
function liveRows(project: TempProject): Record<string, Record<string, string[]>> {
  const all: Record<string, Record<string, string[]>> = {};
  const warehouse = path.join(project.dir, ".reflow/warehouse.db");
  const views = project.backend === "postgres" || existsSync(warehouse) ? project.views() : [];
  for (const dataset of DATASETS) {
    const byPartition: Record<string, string[]> = {};
    const rows = views.includes(dataset) ? rowsOf(project, dataset) : [];
    for (const row of rows) (byPartition[row._partition as string] ??= []).push(JSON.stringify(row));
    for (const rows of Object.values(byPartition)) rows.sort();
    all[dataset] = byPartition;
  }
  return all;
}

/** Sends SIGINT as soon as the state records a succeeded task. */
async function interruptOnceBuilt(project: TempProject, child: ReturnType<typeof spawn>): Promise<void> {
  for (;;) {
    try {
      const [built] = project.query<{ n: number }>("select count(*) as n from tasks where status = 'succeeded'", ".reflow/state.db");
      if (built!.n > 0) break;
    } catch {
      // no state yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGINT");
}

const clean = slowProject(4);
const victim = slowProject(4);
let cleanRows: Record<string, Record<string, string[]>>;
/** How long a clean apply runs after printing its plan: the window the kills aim at. */
let buildMs = 0;

beforeAll(async () => {
  let planned = 0;
  const exit = await runCli(clean, APPLY, (child) => child.stdout!.once("data", () => (planned = Date.now())));
  buildMs = Date.now() - planned;
  expect(exit.code).toBe(0);
  cleanRows = liveRows(clean);
});
afterAll(() => {
  clean.dispose();
  victim.dispose();
});

describe(`apply killed with SIGKILL at ${KILLS} random moments`, () => {
  it("never leaves a partial, duplicate or foreign row live; the next apply settles and finishes; the end equals a clean build", async () => {
    const random = seededRandom(Number(process.env.REFLOW_KILL_SEED ?? 20241124));
    let kills = 0;
    let completed = 0;
    for (let attempt = 0; kills < KILLS && attempt < KILLS * 3; attempt++) {
      // From just before the lock is taken to just after the run is recorded.
      const after = Math.round(buildMs * random() * 1.1);
      const exit = await runCli(victim, APPLY, (child) => child.stdout!.once("data", () => setTimeout(() => child.kill("SIGKILL"), after)));
      if (exit.signal === "SIGKILL") kills += 1;
      else {
        // It finished (or failed) before the kill: it must have been a clean run.
        expect({ after, code: exit.code, stderr: exit.stderr }).toEqual({ after, code: 0, stderr: "" });
        completed += 1;
      }
      // Whatever is live is exactly what a clean build has for that partition.
      const live = liveRows(victim);
      for (const dataset of DATASETS) {
        for (const [partition, rows] of Object.entries(live[dataset]!)) {
          expect({ after, dataset, partition, rows }).toEqual({ after, dataset, partition, rows: cleanRows[dataset]![partition] });
        }
      }
      if (exit.signal !== "SIGKILL") victim.resetStorage();
    }
    expect(kills).toBe(KILLS);

    const final = ok(victim.reflow(...APPLY));
    expect(withoutElapsed(final)).toMatch(/Apply complete: \d+ partitions? built|^No changes\./m);
    expect(liveRows(victim)).toEqual(cleanRows);
    // Nothing published was built twice: one succeeded task per partition, across every run since the last reset.
    const builds = victim.query<{ dataset: string; partition: string; n: number }>(
      "select dataset, partition, count(*) as n from tasks where status = 'succeeded' group by dataset, partition having count(*) <> 1",
      ".reflow/state.db",
    );
    expect(builds).toEqual([]);
    const built = victim.query<{ n: number }>("select count(*) as n from partitions where status = 'built'", ".reflow/state.db");
    expect(built).toEqual([{ n: TOTAL }]);
    expect(victim.query("select status from runs where status = 'running'", ".reflow/state.db")).toEqual([]);
    expect(completed).toBeLessThan(KILLS * 2);
  }, 600_000); // 50 real processes, each killed and settled: about a minute on 2 cores
});

describe("apply stopped with Ctrl-C (SIGINT)", () => {
  const project = slowProject(60);
  afterAll(() => project.dispose());

  it("starts nothing new, records what finished, exits 130 and tells how to resume; the next apply builds exactly the rest", async () => {
    const exit = await runCli(project, ["apply", "--yes", "--concurrency", "1", "--as-of", AS_OF], (child) => {
      // Interrupt once the first partition is published (watched in the state, not timed: opening a
      // PostgreSQL state on a busy machine can take longer than building the first partitions on SQLite).
      child.stdout!.once("data", () => void interruptOnceBuilt(project, child));
    });
    expect(exit.code).toBe(130);
    const match = /\nApply interrupted: (\d+) built, 0 failed, (\d+) not started \(run #1, \d+\.\ds\)\. Everything built was published and recorded; run `reflow apply` to finish\.\n$/.exec(
      exit.stderr,
    );
    expect(exit.stderr.startsWith("\nStopping: no new partitions start; waiting for running ones (Ctrl-C again to stop at once)…\n")).toBe(true);
    expect(match).not.toBeNull();
    const built = Number(match![1]);
    const notStarted = Number(match![2]);
    expect(built).toBeGreaterThan(0);
    expect(built + notStarted).toBe(TOTAL);
    expect(project.query("select status from runs", ".reflow/state.db")).toEqual([{ status: "interrupted" }]);
    expect(project.query<{ n: number }>("select count(*) as n from tasks where status = 'interrupted'", ".reflow/state.db")).toEqual([{ n: notStarted }]);

    const rest = ok(project.reflow(...APPLY));
    expect(withoutElapsed(rest)).toContain(`\nApply complete: ${notStarted} partitions built`);
    expect(liveRows(project)).toEqual(cleanRows);
  });
});

// Days the fixture has as of AS_OF, for readers of this file.
void januaryDays(1, 20);
