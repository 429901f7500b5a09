import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStateStore } from "@reflow/state";
import { januaryDays, noChanges, ok, planJson, reflowAsync, rowsOf, storageFiles, tasks, withoutClock, withoutElapsed } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, fixtureFiles, REVENUE_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

const APPLY = ["apply", "--yes", "--as-of", AS_OF];
const DAYS = januaryDays(1, 5);

describe("saved plans: plan --out FILE, apply FILE", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("applies exactly the saved plan, without asking, as of the time it was made", () => {
    const saved = project.reflow("plan", "--as-of", AS_OF, "--out", "first.json");
    expect(saved.status).toBe(0);
    expect(saved.stdout.endsWith("\nSaved to first.json. `reflow apply first.json` applies exactly this plan, or refuses if anything changed.\n")).toBe(true);
    const applied = project.reflow("apply", "first.json");
    expect(applied.stderr).toBe("");
    expect(applied.status).toBe(0);
    expect(withoutElapsed(applied.stdout)).toMatch(/\nApply complete: 16 partitions built, 28 rows written \(run #1, <elapsed>\)\.\n$/);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });

  it("refuses a plan the state has moved past (REFLOW_PLAN_STALE), changing nothing", () => {
    const before = project.storageDigest();
    expect(project.reflow("apply", "first.json")).toEqual({
      status: 1,
      stdout: "",
      stderr:
        "error REFLOW_PLAN_STALE: first.json can no longer be applied: the state changed since the plan was made (another apply ran); nothing was applied. Run `reflow plan --out` again\n",
    });
    expect(project.storageDigest()).toBe(before);
  });

  it("refuses a plan whose code changed since, naming the datasets (REFLOW_PLAN_STALE), changing nothing", () => {
    project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
    expect(ok(project.reflow("plan", "--as-of", AS_OF, "--out", "rate.json"))).toContain("Plan: 6 partitions to build");
    project.edit("pipelines/lib/helpers.ts", "return id.toUpperCase();", "return id.toLowerCase();");
    const before = project.storageDigest();
    expect(project.reflow("apply", "rate.json").stderr).toBe(
      "error REFLOW_PLAN_STALE: rate.json can no longer be applied: the code changed since the plan was made (active_users); nothing was applied. Run `reflow plan --out` again\n",
    );
    expect(project.storageDigest()).toBe(before);
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
  });

  it("refuses a file that is not a saved plan (REFLOW_PLAN_INVALID), and --as-of with a saved plan", () => {
    project.write("bogus.json", '{ "tasks": [] }\n');
    expect(project.reflow("apply", "bogus.json").stderr).toBe(
      'error REFLOW_PLAN_INVALID: bogus.json: not a saved plan made by `reflow plan --out`: format: Invalid input: expected "reflow-plan/1"\n',
    );
    expect(project.reflow("apply", "missing.json").stderr).toMatch(/^error REFLOW_PLAN_INVALID: missing\.json: cannot read the saved plan: ENOENT/);
    expect(project.reflow("apply", "rate.json", "--as-of", AS_OF).stderr).toBe(
      "error REFLOW_INVALID_ARGUMENT: --as-of cannot be used with a saved plan: it is applied as of the time it was made\n",
    );
  });
});

describe("apply --max-tasks N", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("builds the first N partitions in topological order and leaves the rest for the next apply", () => {
    const first = project.reflow(...APPLY, "--max-tasks", "7");
    expect(first.status).toBe(0);
    expect(withoutElapsed(first.stdout)).toMatch(
      /\nApply complete: 7 partitions built, 19 rows written \(run #1, <elapsed>\)\.\n9 partitions left for the next apply \(--max-tasks\)\.\n$/,
    );
    // events (5 days) and the first 2 days of active_users; events is fully applied, the others are still "added".
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: [
        { name: "events", change: "unchanged" },
        { name: "active_users", change: "added" },
        { name: "revenue", change: "added" },
        { name: "revenue_total", change: "added" },
      ],
      tasks: [...tasks("active_users", "missing", DAYS.slice(2)), ...tasks("revenue", "missing", DAYS), ...tasks("revenue_total", "missing", ["*"])],
      summary: { tasks: 9, datasets: 3 },
    });
    expect(withoutElapsed(ok(project.reflow(...APPLY, "--max-tasks", "100")))).toMatch(/\nApply complete: 9 partitions built, 9 rows written \(run #2, <elapsed>\)\.\n$/);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });

  it("rejects 0 (REFLOW_INVALID_ARGUMENT)", () => {
    expect(project.reflow(...APPLY, "--max-tasks", "0").stderr).toBe('error REFLOW_INVALID_ARGUMENT: --max-tasks: expected a whole number of at least 1, got "0"\n');
  });
});

describe("one writer at a time", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());
  const lockedBy = (acquiredAt: string, waited = "") =>
    `error REFLOW_LOCKED: the state is locked by another reflow: \`test holder\` (pid ${process.pid} on ${os.hostname()}, since ${acquiredAt})${waited}. ` +
    "Wait for it to finish or retry with --wait; if that process is gone for good, run `reflow unlock`\n";

  it("apply refuses at once while another process holds the lock, and writes nothing", async () => {
    ok(project.reflow("apply", "--yes", "--as-of", "2024-01-03"));
    const store = (await openStateStore(project.stateLocation, "write"))!;
    const held = await store.lock!.acquire({ command: "test holder" });
    await store.close();
    try {
      const before = project.storageDigest();
      expect(project.reflow(...APPLY)).toEqual({ status: 1, stdout: "", stderr: lockedBy(held.holder.acquiredAt) });
      expect(project.storageDigest()).toBe(before);

      const waited = project.reflow(...APPLY, "--wait=1");
      expect(waited.stderr).toBe(lockedBy(held.holder.acquiredAt, "; waited 1s"));
      expect(project.storageDigest()).toBe(before);
    } finally {
      const store = (await openStateStore(project.stateLocation, "write"))!;
      await store.lock!.breakLock();
      await store.close();
    }
  });

  it("--wait waits for the holder to finish, then applies", async () => {
    const store = (await openStateStore(project.stateLocation, "write"))!;
    const held = await store.lock!.acquire({ command: "test holder" });
    const waiting = reflowAsync(project, ...APPLY, "--wait=30");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await held.release();
    await store.close();
    const result = await waiting;
    expect(result.stderr).toBe("");
    expect(withoutElapsed(result.stdout)).toMatch(/\nApply complete: 10 partitions built, 17 rows written \(run #2, <elapsed>\)\.\n$/);
  });

  it("a lock left by a dead process is taken over; `reflow unlock --yes` removes a live one", async () => {
    // A lock whose holder died: a pid above pid_max never runs.
    const leaveDeadHoldersLock = () =>
      project.exec(
        `insert into locks (name, host, pid, command, acquired_at, lease_expires_at) values ('apply', '${os.hostname()}', ${2 ** 22 + 7}, 'apply --yes', '2024-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')`,
        ".reflow/state.db",
      );
    leaveDeadHoldersLock();
    project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
    expect(withoutElapsed(ok(project.reflow(...APPLY)))).toMatch(/\nApply complete: 6 partitions built, 6 rows written \(run #3, <elapsed>\)\.\n$/);

    const store = (await openStateStore(project.stateLocation, "write"))!;
    const held = await store.lock!.acquire({ command: "test holder" });
    await store.close();
    expect(project.reflow("unlock")).toEqual({
      status: 1,
      stdout: `The state is locked by \`test holder\` (pid ${process.pid} on ${os.hostname()}, since ${held.holder.acquiredAt}).\nThat process looks alive: removing its lock lets a second apply run beside it.\n`,
      stderr: "error REFLOW_CONFIRMATION_REQUIRED: unlock asks for confirmation, and there is no terminal to ask on: run `reflow unlock --yes`\n",
    });
    expect(ok(project.reflow("unlock", "--yes"))).toMatch(/\nLock removed\.\n$/);
    expect(ok(project.reflow("unlock", "--yes"))).toBe("The state is not locked.\n");
    leaveDeadHoldersLock();
    expect(ok(project.reflow("unlock", "--yes"))).toBe(
      `The state is locked by \`apply --yes\` (pid ${2 ** 22 + 7} on ${os.hostname()}, since 2024-01-01T00:00:00.000Z).\n` +
        "That process looks gone (on this host its pid is not running, or runs another process; on another host its lease expired); the next apply would take the lock over anyway.\nLock removed.\n",
    );
    expect(storageFiles(project)).toEqual(project.backend === "sqlite" ? ["state.db", "warehouse.db"] : []);
  });
});

describe("two applies started at the same moment", () => {
  const project = new TempProject(fixtureFiles());
  // Slow enough that the two overlap: each partition of events takes 30 ms.
  project.edit("pipelines/events.ts", "  read: ({ partition }) => {\n", "  read: async ({ partition }) => {\n    await new Promise((resolve) => setTimeout(resolve, 30));\n");
  afterAll(() => project.dispose());

  it("one builds, the other refuses with REFLOW_LOCKED (or finds nothing left to do); nothing is built twice", async () => {
    const [a, b] = await Promise.all([reflowAsync(project, ...APPLY, "--concurrency", "1"), reflowAsync(project, ...APPLY, "--concurrency", "1")]);
    const outcomes = [a, b].map((r) =>
      r.status === 0 && /Apply complete: 16 partitions built/.test(r.stdout)
        ? "built"
        : r.status === 1 && /^error REFLOW_(LOCKED|STATE_CHANGED): /.test(r.stderr)
          ? "refused"
          : r.status === 0 && r.stdout === noChanges(4, AS_OF_ISO)
            ? "nothing to do"
            : `unexpected: ${JSON.stringify(r)}`,
    );
    // Printed in full if it fails: which outcome, with its output.
    expect(outcomes.filter((o) => o !== "built" && o !== "refused" && o !== "nothing to do")).toEqual([]);
    expect(outcomes.filter((o) => o === "built")).toHaveLength(1);
    expect(project.query<{ n: number }>("select count(*) as n from tasks where status = 'succeeded'", ".reflow/state.db")).toEqual([{ n: 16 }]);
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(project.query<{ n: number }>("select count(*) as n from events")).toEqual([{ n: 17 }]);
  });
});

/** The fixture, with events' read of `day` blocking, synchronously as a paused process would, until `resume` exists. */
function blockingProject(day: string): { project: TempProject; waiting: string; resume: string } {
  const project = new TempProject(fixtureFiles());
  const waiting = path.join(project.dir, "waiting");
  const resume = path.join(project.dir, "resume");
  project.edit(
    "pipelines/events.ts",
    "  read: ({ partition }) => {\n",
    `  read: ({ partition }) => {
    if (partition.key === "${day}") {
      writeFileSync(${JSON.stringify(waiting)}, "");
      while (!existsSync(${JSON.stringify(resume)})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
`,
  );
  project.edit("pipelines/events.ts", 'import { z } from "zod";\n', 'import { z } from "zod";\nimport { existsSync, writeFileSync } from "node:fs";\n');
  return { project, waiting, resume };
}

async function until(file: string): Promise<void> {
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 20));
}

const SERIAL_APPLY = ["apply", "--yes", "--concurrency", "1", "--as-of", AS_OF];

describe("status while a run is in progress, and after its process died", () => {
  // The first partition blocks: nothing is published before it, whatever group commit's timing.
  const { project, waiting, resume } = blockingProject("2024-01-01");
  afterAll(() => project.dispose());

  it("says the run is in progress, then that it was left unfinished; the next apply settles it", async () => {
    const applying = reflowAsync(project, ...SERIAL_APPLY);
    await until(waiting);
    const [{ pid }] = project.query<{ pid: number }>("select pid from locks", ".reflow/state.db") as [{ pid: number }];
    const status = () => withoutClock(ok(project.reflow("status", "--as-of", AS_OF)));
    const table = (lastRun: string) =>
      [
        "dataset        kind     partitions  built  outdated  failed  missing  last run",
        `events         source            5      0         0       0        5  #1 ${lastRun}`,
        `active_users   dataset           5      0         0       0        5  #1 ${lastRun}`,
        `revenue        dataset           5      0         0       0        5  #1 ${lastRun}`,
        `revenue_total  dataset           1      0         0       0        1  #1 ${lastRun}`,
        "",
        "",
      ].join("\n");
    expect(status()).toBe(
      `${table("running since <time>: 0 built so far")}Run #1 is in progress: \`apply --yes --concurrency 1 --as-of ${AS_OF}\` (pid ${pid} on ${os.hostname()}, since <time>); the counts are what it has published so far.\n`,
    );
    process.kill(pid, "SIGKILL");
    expect((await applying).status).not.toBe(0);
    expect(status()).toBe(
      `${table("unfinished since <time>: 0 built")}Run #1 (\`apply --yes --concurrency 1 --as-of ${AS_OF}\`, since <time>) was left unfinished by a process that is gone; the next \`reflow apply\` settles it.\n`,
    );
    writeFileSync(resume, "");
    expect(withoutElapsed(ok(project.reflow(...SERIAL_APPLY)))).toMatch(/\nApply complete: 16 partitions built, 28 rows written \(run #2, <elapsed>\)\.\n$/);
    expect(status()).not.toContain("Run #");
  });
});

describe("a writer lock taken over mid-run (this apply's lease ran out: paused, or cut off from a shared state)", () => {
  const { project, waiting, resume } = blockingProject("2024-01-03");
  afterAll(() => project.dispose());

  it("records nothing more once another holder took the lock (REFLOW_LOCK_LOST), and the next apply settles the run", async () => {
    const applying = reflowAsync(project, ...SERIAL_APPLY);
    await until(waiting);
    const recorded = () =>
      ["select id, status from runs order by id", "select id, status from tasks order by id", "select dataset, partition, status, live_task_id from partitions order by dataset, partition"].map((sql) =>
        project.query(sql, ".reflow/state.db"),
      );
    // Another host's apply found the lease run out and took the lock.
    project.exec(
      "delete from locks; insert into locks (name, host, pid, command, acquired_at, lease_expires_at) values ('apply', 'another-host', 7, 'apply', '2024-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')",
      ".reflow/state.db",
    );
    // Read once the takeover committed: on PostgreSQL a group's record sent just before the read
    // blocked may still be committing, and the delete waits for it (its fence holds the lock row `for share`).
    const before = recorded();
    writeFileSync(resume, "");
    const result = await applying;
    expect(result.status).toBe(1);
    expect(result.stderr.replace(/at \d{4}-\d\d-\d\dT[\d:.]+Z,/, "at <time>,")).toBe(
      "error REFLOW_LOCK_LOST: the state's writer lock, taken by this `apply --yes --concurrency 1 --as-of 2024-01-06` at <time>, was taken over by `apply` (pid 7 on another-host, since 2024-01-01T00:00:00.000Z), " +
        "which found this one's lease run out (no heartbeat reached the state for a minute: was this process paused, or cut off from the database?). " +
        "Nothing more was recorded; what this run left unfinished is settled by the next apply\n",
    );
    expect(recorded()).toEqual(before);

    expect(ok(project.reflow("unlock", "--yes"))).toMatch(/\nLock removed\.\n$/);
    const resumed = ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(withoutElapsed(resumed)).toMatch(/Apply complete: \d+ partitions built, \d+ rows written \(run #2, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });
});
