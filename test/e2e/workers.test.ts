import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { januaryDays, locate, planJson, withEnv, withoutElapsed } from "../support/e2e.js";
import { AS_OF as FIXTURE_AS_OF, fixtureFiles } from "../support/fixture.js";
import { REPO_ROOT, TEST_BACKEND, TempProject } from "../support/temp-project.js";

/*
 * `apply --distribute` with `reflow worker` processes sharing the PostgreSQL
 * state and warehouse. Each build appends "pid dataset partition" to
 * builds.log in the process's working directory, then sleeps, so the test
 * can see who built what and has time to kill a worker mid-unit.
 */
const AS_OF = "2024-01-13";
const DAYS = januaryDays(1, 12);
const LEASE_MS = 2_000;

function pipeline(factor: number, sleepMs: number, numbersExtra = ""): string {
  return `import { appendFileSync } from "node:fs";
import { daily, dataset, source } from "@reflow/core";
import { z } from "zod";

const FACTOR = ${factor};

/** Who built what, for the test. */
function logBuild(name: string, key: string): void {
  appendFileSync("builds.log", \`\${process.pid} \${name} \${key}\\n\`);
}

export const numbers = source("numbers", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ day: z.string(), n: z.number().int()${numbersExtra} }),
  read: async ({ partition }) => {
    logBuild("numbers", partition.key);
    await new Promise((resolve) => setTimeout(resolve, ${sleepMs}));
    const d = Number(partition.key.slice(8, 10));
    return [{ day: partition.key, n: d }, { day: partition.key, n: d * FACTOR }];
  },
});

export const doubled = dataset("doubled", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { numbers },
  schema: z.object({ day: z.string(), n: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    logBuild("doubled", partition.key);
    await new Promise((resolve) => setTimeout(resolve, ${sleepMs}));
    return (await inputs.numbers.rows()).map((row) => ({ day: partition.key, n: row.n * 2 * FACTOR }));
  },
});
`;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** What it printed so far. */
  readonly stdout: () => string;
}

const started: ChildProcess[] = [];

function start(project: TempProject, ...args: string[]): Running {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli/bin/reflow.js"), ...args], {
    cwd: project.dir,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", REFLOW_WORKER_LEASE_MS: String(LEASE_MS) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, stdout: () => stdout };
}

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Work queue rows, or [] before the state exists. */
function queue(project: TempProject): { id: number; dataset: string; first_task_id: number; status: string; claimed_by: string | null }[] {
  try {
    return project.query("select id, dataset, first_task_id, status, claimed_by from work_queue order by id", ".reflow/state.db");
  } catch {
    return [];
  }
}

function buildLog(project: TempProject): { pid: number; dataset: string; partition: string }[] {
  const file = path.join(project.dir, "builds.log");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const [pid, dataset, partition] = line.split(" ");
      return { pid: Number(pid), dataset: dataset!, partition: partition! };
    });
}

const expectedRows = (factor: number) => ({
  numbers: DAYS.flatMap((day) => [{ _partition: day, day, n: Number(day.slice(8)) }, { _partition: day, day, n: Number(day.slice(8)) * factor }]),
  doubled: DAYS.flatMap((day) => [{ _partition: day, day, n: Number(day.slice(8)) * 2 * factor }, { _partition: day, day, n: Number(day.slice(8)) * factor * 2 * factor }]),
});

function sorted<T extends { _partition: unknown; n: unknown }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (a._partition === b._partition ? Number(a.n) - Number(b.n) : String(a._partition) < String(b._partition) ? -1 : 1));
}

describe("apply --distribute on SQLite storage", () => {
  it("is refused before anything is created, naming the files a remote worker cannot reach; so is `reflow worker`", () => {
    const project = new TempProject({
      "reflow.yaml": "state: .reflow/state.db\nwarehouse: { type: sqlite, path: .reflow/warehouse.db }\n",
      "pipelines/numbers.ts": pipeline(100, 0),
    });
    try {
      const why =
        "needs PostgreSQL state and warehouse, shared by every worker, but the state is a SQLite file (.reflow/state.db) and the warehouse is a SQLite file (.reflow/warehouse.db): " +
        "a worker on another machine cannot reach it. Set `state:` and `warehouse:` to `{ type: postgres, url: …, schema: … }` in reflow.yaml\n";
      expect(project.reflow("apply", "--yes", "--distribute", "--as-of", AS_OF)).toEqual({ status: 1, stdout: "", stderr: `error REFLOW_DISTRIBUTE_UNSUPPORTED: apply --distribute ${why}` });
      expect(project.reflow("worker", "--exit-when-idle")).toEqual({ status: 1, stdout: "", stderr: `error REFLOW_DISTRIBUTE_UNSUPPORTED: reflow worker ${why}` });
      expect(existsSync(path.join(project.dir, ".reflow/state.db"))).toBe(false);
      expect(existsSync(path.join(project.dir, ".reflow/warehouse.db"))).toBe(false);
    } finally {
      project.dispose();
    }
  });
});

describe.skipIf(TEST_BACKEND !== "postgres")(`reflow worker${TEST_BACKEND !== "postgres" ? " (skipped: needs PostgreSQL; runs in the e2e-postgres project)" : ""}`, () => {
  it("3 workers and the apply share the run; a worker SIGKILLed mid-unit has its unit rebuilt after its lease; every task published exactly once", async () => {
    const project = new TempProject({ "pipelines/numbers.ts": pipeline(100, 250) });
    try {
      const workers = [0, 1, 2].map(() => start(project, "worker", "--concurrency", "1"));
      for (const worker of workers) await until("the worker to start", () => (worker.stdout().includes("waiting for distributed runs") ? true : undefined));
      const apply = start(project, "apply", "--yes", "--distribute", "--concurrency", "1", "--as-of", AS_OF);
      const victim = workers[0]!;
      // Killed as soon as it starts a transform (which logs, then sleeps): it holds that unit's claim.
      const killed = await until("the first worker to start building", () => buildLog(project).findLast((b) => b.pid === victim.child.pid));
      victim.child.kill("SIGKILL");
      const applied = await apply.exited;
      expect(applied.stderr).toBe("");
      expect(applied.code).toBe(0);
      expect(applied.stdout).toMatch(/Apply complete: 24 partitions built, 48 rows written \(run #1, \d+\.\ds\)\.\n$/);
      expect((await victim.exited).signal).toBe("SIGKILL");

      // Ctrl-C: each surviving worker finishes what it holds (nothing now) and exits cleanly.
      for (const worker of workers.slice(1)) worker.child.kill("SIGINT");
      const survivors = await Promise.all(workers.slice(1).map((w) => w.exited));
      for (const exit of survivors) {
        expect(exit.code).toBe(0);
        expect(exit.stdout).toMatch(/^Worker [^\n]+:\d+: 2 datasets, 1 unit at a time; waiting for distributed runs\.\n/);
        expect(exit.stdout).toMatch(/Worker stopped: \d+ units? built, 0 failed\.\n$/);
        for (const line of exit.stdout.trim().split("\n").slice(1, -1)) expect(line).toMatch(/^built (numbers|doubled) 2024-01-\d\d \(run #1, version \d+(, claimed again after a lease ran out)?, 2 rows, \d+\.\d\ds\)$/);
      }

      // Every task of the run succeeded once; each live version is exactly that task; nothing else is stored.
      const tasks = project.query<{ id: number; dataset: string; partition: string; status: string }>(
        "select id, dataset, partition, status from tasks order by dataset, partition",
        ".reflow/state.db",
      );
      expect(tasks.map((t) => [t.dataset, t.partition, t.status])).toEqual([...DAYS.map((d) => ["doubled", d, "succeeded"]), ...DAYS.map((d) => ["numbers", d, "succeeded"])]);
      const live = project.query<{ dataset: string; partition: string; version: number }>("select dataset, partition, version from _reflow_live order by dataset, partition");
      expect(live).toEqual(tasks.map((t) => ({ dataset: t.dataset, partition: t.partition, version: t.id })));
      expect(project.query("select version, state from _reflow_versions where state <> 'live'")).toEqual([]);
      const rows = expectedRows(100);
      expect(sorted(project.query<{ _partition: string; n: number }>('select * from "numbers"'))).toEqual(rows.numbers);
      expect(sorted(project.query<{ _partition: string; n: number }>('select * from "doubled"'))).toEqual(rows.doubled);
      expect(project.query("select id from work_queue", ".reflow/state.db")).toEqual([]);

      // The killed worker's unit was built again by another process after it.
      const log = buildLog(project);
      const ofKilled = log.filter((b) => b.dataset === killed.dataset && b.partition === killed.partition);
      expect(ofKilled[0]!.pid).toBe(victim.child.pid);
      expect(ofKilled.length).toBe(2);
      expect(ofKilled[1]!.pid).not.toBe(victim.child.pid);
      // The work was spread: besides the apply, the surviving workers built units too.
      const builders = new Set(log.map((b) => b.pid));
      expect(builders.size).toBeGreaterThanOrEqual(2);
      expect(log.length).toBe(DAYS.length * 2 + 1);

      expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([]);
    } finally {
      project.dispose();
    }
  });

  it("a worker whose connections to the database are cut (as by a server restart) keeps going and builds the next run's units", async () => {
    const project = new TempProject({ "pipelines/numbers.ts": pipeline(100, 100) });
    try {
      const worker = start(project, "worker", "--concurrency", "1");
      await until("the worker to start", () => (worker.stdout().includes("waiting for distributed runs") ? true : undefined));
      // Often enough, for a second, that some cut lands while a query of the worker is in flight.
      for (let i = 0; i < 40; i++) {
        project.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'reflow'", ".reflow/state.db");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const apply = start(project, "apply", "--yes", "--distribute", "--concurrency", "1", "--as-of", AS_OF);
      const applied = await apply.exited;
      expect(applied.code).toBe(0);
      expect(applied.stdout).toMatch(/Apply complete: 24 partitions built/);
      expect(buildLog(project).some((b) => b.pid === worker.child.pid)).toBe(true);
      worker.child.kill("SIGINT");
      const exit = await worker.exited;
      expect(exit.code).toBe(0);
      // Nothing, or the outage said once with the server's address (no password) and its end.
      for (const line of exit.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Stopping"))) {
        expect(line).toMatch(/^(state: cannot use PostgreSQL at postgres:\/\/[^ ]+: .+; trying again every second \(units in hand are built again elsewhere once their lease runs out\)|The state's server answers again; claiming\.)$/);
      }
    } finally {
      project.dispose();
    }
  });

  it("a worker whose code differs only in the columns of what a dataset reads refuses that dataset too", async () => {
    const coordinator = new TempProject({ "pipelines/numbers.ts": pipeline(100, 150) });
    // numbers has one more column here: its fingerprint differs, doubled's code (and fingerprint) does not.
    const drifted = new TempProject({ "reflow.yaml": coordinator.read("reflow.yaml"), "pipelines/numbers.ts": pipeline(100, 150, ", note: z.string().optional()") });
    try {
      // Started (compiled and polling) before the run, so it sees doubled's units while they wait, however slow its start.
      const running = start(drifted, "worker");
      await until("the worker to start", () => (running.stdout().includes("waiting for distributed runs") ? true : undefined));
      const apply = start(coordinator, "apply", "--yes", "--distribute", "--concurrency", "1", "--as-of", AS_OF);
      expect((await apply.exited).code).toBe(0);
      running.child.kill("SIGINT");
      const worker = await running.exited;
      expect(worker.code).toBe(0);
      expect(worker.stderr).toMatch(
        /(^|\n)refused \d+ units? of doubled in run #1: its code is the same, but the datasets it reads \(numbers\) have other columns in this worker's code\. Give this worker the same code as the apply's\.\n/,
      );
      expect(buildLog(drifted)).toEqual([]);
      expect(new Set(buildLog(coordinator).map((b) => b.pid))).toEqual(new Set([apply.child.pid]));
    } finally {
      drifted.dispose();
      coordinator.dispose();
    }
  });

  it("a worker with other code refuses the run's units, says why, and builds nothing", async () => {
    const coordinator = new TempProject({ "pipelines/numbers.ts": pipeline(100, 150) });
    // Same storage, other code: FACTOR differs, so both datasets' fingerprints do.
    const drifted = new TempProject({ "reflow.yaml": coordinator.read("reflow.yaml"), "pipelines/numbers.ts": pipeline(1000, 0) });
    try {
      const apply = start(coordinator, "apply", "--yes", "--distribute", "--concurrency", "1", "--as-of", AS_OF);
      await until("units in the queue", () => (queue(coordinator).some((row) => row.status === "ready") ? true : undefined));
      const worker = await start(drifted, "worker", "--exit-when-idle").exited;
      const applied = await apply.exited;
      expect(applied.code).toBe(0);
      expect(applied.stdout).toMatch(/Apply complete: 24 partitions built/);

      const planned = new Map(
        coordinator.query<{ dataset: string; fingerprint: string }>("select distinct dataset, fingerprint from tasks", ".reflow/state.db").map((t) => [t.dataset, t.fingerprint.slice(0, 12)]),
      );
      expect(planned.size).toBe(2);
      expect(worker.code).toBe(0);
      expect(worker.stdout).toMatch(/^Worker [^\n]+: 2 datasets, 4 units at a time; waiting for distributed runs\.\nWorker stopped: 0 units built, 0 failed\.\n$/);
      // One line per dataset it found waiting (numbers, and doubled if numbers was done by then), each naming both fingerprints.
      const refusals = worker.stderr.trim().split("\n");
      expect(refusals.length).toBeGreaterThanOrEqual(1);
      for (const line of refusals) {
        const [, dataset, theirs, ours] = /^refused \d+ units? of (numbers|doubled) in run #1: the run builds it with fingerprint ([0-9a-f]{12}), this worker's code has ([0-9a-f]{12})\. Give this worker the same code as the apply's\.$/.exec(line) ?? [];
        expect({ line, theirs }).toEqual({ line, theirs: planned.get(dataset!) });
        expect(ours).not.toBe(theirs);
      }
      // Only the apply built anything.
      expect(new Set(buildLog(coordinator).map((b) => b.pid))).toEqual(new Set([apply.child.pid]));
      expect(buildLog(drifted)).toEqual([]);
    } finally {
      drifted.dispose();
      coordinator.dispose();
    }
  });

  it("a unit that fails in a claimer is retried there; the apply records the attempts, the failure and the blocked readers as a local run does", () => {
    const project = new TempProject(fixtureFiles());
    try {
      project.edit("pipelines/events.ts", "  read: ({ partition }) => {\n", '  retries: { attempts: 2, backoff: "fixed", initialDelayMs: 10 },\n  read: ({ partition }) => {\n    if (partition.key === "2024-01-02") throw new Error("connection reset");\n');
      const at = locate(project, "pipelines/events.ts", "new Error(");
      // No worker: the apply's own slots claim every unit.
      const result = withEnv({ REFLOW_WORKER_LEASE_MS: String(LEASE_MS) }, () => project.reflow("apply", "--yes", "--distribute", "--as-of", FIXTURE_AS_OF));
      const error = `REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-02: read threw at ${at}: connection reset`;
      expect(result.status).toBe(1);
      expect(withoutElapsed(result.stderr).split("\n").slice(0, 4)).toEqual(["", "Apply failed: 12 built, 1 failed, 3 blocked (run #1, <elapsed>).", "Failed:", `  ${error} (after 2 attempts)`]);
      expect(project.query("select attempt, error from task_attempts", ".reflow/state.db")).toEqual([{ attempt: 1, error }]);
      expect(project.query("select status, attempts, error from tasks where dataset = 'events' and partition = '2024-01-02'", ".reflow/state.db")).toEqual([
        { status: "failed", attempts: 2, error: `${error} (after 2 attempts)` },
      ]);
      expect(project.query("select status, count(*)::int as n from tasks group by status order by status", ".reflow/state.db")).toEqual([
        { status: "blocked", n: 3 },
        { status: "failed", n: 1 },
        { status: "succeeded", n: 12 },
      ]);
      expect(project.query("select version from _reflow_versions where state <> 'live'")).toEqual([]);
      expect(project.query("select id from work_queue", ".reflow/state.db")).toEqual([]);
    } finally {
      project.dispose();
    }
  });
});
