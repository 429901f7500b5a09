import os from "node:os";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openStateStore } from "@reflow/state";
import { checkpoint, discard, noChanges, ok, planJson, reflowAsync, restore, rowsOf, tasks, withoutClock, type Checkpoint } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, DAYS, fixtureFiles, REVENUE_ROWS, REVENUE_TOTAL_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

/*
 * One project applied twice as of AS_OF: run #1 builds everything with RATE = 2
 * (versions 1-16: events 1-5, active_users 6-10, revenue 11-15, revenue_total 16),
 * run #2 rebuilds revenue with RATE = 3 (versions 17-21) and revenue_total (22).
 * Every test starts from there, restored in place from a checkpoint.
 */
const APPLY = ["apply", "--yes", "--as-of", AS_OF];
const project = new TempProject(fixtureFiles());
let applied: Checkpoint | undefined;

beforeAll(() => {
  ok(project.reflow(...APPLY));
  project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
  ok(project.reflow(...APPLY));
  applied = checkpoint(project);
});
beforeEach(() => restore(project, applied!));
afterAll(() => {
  project.dispose();
  discard(applied);
});

/** revenue with RATE = 3, as run #2 built it. */
const REVENUE_RATE_3 = REVENUE_ROWS.map((row) => ({ ...row, total: (row.total / 2) * 3 }));

const state = <T>(sql: string) => project.query<T>(sql, ".reflow/state.db");
/** The short fingerprint `history` prints for a version. */
const fingerprint = (version: number) => state<{ f: string }>(`select substr(fingerprint, 1, 8) as f from tasks where id = ${version}`)[0]!.f;
const liveVersions = (dataset: string) =>
  state<{ partition: string; live_task_id: number }>(`select partition, live_task_id from partitions where dataset = '${dataset}' order by partition`).map(
    (r) => [r.partition, r.live_task_id],
  );
const heldVersions = (dataset: string) => project.query<{ v: number }>(`select distinct _version as v from "${dataset}__rows" order by v`).map((r) => r.v);

/** Runs a command that must refuse: exit 1, nothing on stdout, exactly this error, storage untouched. */
function refuses(args: readonly string[], error: string): void {
  const before = project.storageDigest();
  expect(project.reflow(...args)).toEqual({ status: 1, stdout: "", stderr: `error ${error}\n` });
  expect(project.storageDigest()).toBe(before);
}

describe("reflow history", () => {
  it("lists each kept version of a partition, newest first: run, short fingerprint, rows, time, which is live", () => {
    const [rate3, rate2] = [fingerprint(18), fingerprint(12)];
    expect(rate3).not.toBe(rate2);
    expect(withoutClock(ok(project.reflow("history", "revenue", "2024-01-02")))).toBe(
      [
        "partition   version  run  fingerprint  rows  built at",
        `2024-01-02       18   #2  ${rate3}        1  <time>  live`,
        `2024-01-02       12   #1  ${rate2}        1  <time>`,
        "",
      ].join("\n"),
    );
    const all = withoutClock(ok(project.reflow("history", "revenue"))).split("\n");
    expect(all).toHaveLength(12);
    expect(all.slice(1, 3)).toEqual([`2024-01-01       17   #2  ${rate3}        1  <time>  live`, `2024-01-01       11   #1  ${rate2}        1  <time>`]);
    expect(withoutClock(ok(project.reflow("history", "revenue_total"))).split("\n").slice(1)).toEqual([
      `(unpartitioned)       22   #2  ${fingerprint(22)}        1  <time>  live`,
      `(unpartitioned)       16   #1  ${fingerprint(16)}        1  <time>`,
      "",
    ]);
  });

  it("--json gives full fingerprints and times", () => {
    const history = JSON.parse(ok(project.reflow("history", "revenue", "2024-01-05", "--json")));
    const full = (version: number) => state<{ fingerprint: string; finished_at: number }>(`select fingerprint, finished_at from tasks where id = ${version}`)[0]!;
    // The state stores milliseconds since the epoch; history prints them as ISO text.
    const builtAt = (version: number) => new Date(full(version).finished_at).toISOString();
    expect(history).toEqual({
      dataset: "revenue",
      retainVersions: 3,
      versions: [
        { partition: "2024-01-05", version: 21, runId: 2, fingerprint: full(21).fingerprint, rows: 1, builtAt: builtAt(21), live: true, pastRetention: false },
        { partition: "2024-01-05", version: 15, runId: 1, fingerprint: full(15).fingerprint, rows: 1, builtAt: builtAt(15), live: false, pastRetention: false },
      ],
    });
  });

  it("refuses an unknown dataset, a malformed key and a partition never built", () => {
    refuses(["history", "revenu"], 'REFLOW_UNKNOWN_DATASET: no dataset named "revenu" is declared (declared: events, active_users, revenue, revenue_total)');
    refuses(["history", "revenue", "2024-1-2"], 'REFLOW_INVALID_ARGUMENT: partition: "2024-1-2" is not a partition key of revenue (daily: YYYY-MM-DD)');
    refuses(["history", "revenue", "2024-02-01"], "REFLOW_UNKNOWN_PARTITION: revenue has no built version of partition 2024-02-01");
  });
});

describe("reflow rollback", () => {
  const ROLLBACK_ALL = [
    "Roll back 5 partitions of revenue to its previous version, in one atomic publish:",
    "  2024-01-01: version 17 → 11 (built by run #1, 1 row)",
    "  2024-01-02: version 18 → 12 (built by run #1, 1 row)",
    "  2024-01-03: version 19 → 13 (built by run #1, 1 row)",
    "  2024-01-04: version 20 → 14 (built by run #1, 1 row)",
    "  2024-01-05: version 21 → 15 (built by run #1, 1 row)",
  ];

  it("shows what it will do and, without a terminal or --yes, refuses having changed nothing", () => {
    const before = project.storageDigest();
    expect(project.reflow("rollback", "revenue")).toEqual({
      status: 1,
      stdout: [
        ...ROLLBACK_ALL,
        "Until revenue's code changes, `reflow plan` rebuilds them (code-changed; --pin leaves them alone) and the datasets that read them (upstream-changed).",
        "",
      ].join("\n"),
      stderr:
        "error REFLOW_CONFIRMATION_REQUIRED: rollback asks for confirmation, and there is no terminal to ask on: run `reflow rollback --yes` to roll back without asking\n",
    });
    expect(project.storageDigest()).toBe(before);
  });

  it("republishes every partition's previous version and records a run; the next plan rebuilds it (code-changed) and what reads it (upstream-changed)", () => {
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_RATE_3);
    expect(ok(project.reflow("rollback", "revenue", "--yes"))).toBe(
      [
        ...ROLLBACK_ALL,
        "Until revenue's code changes, `reflow plan` rebuilds them (code-changed; --pin leaves them alone) and the datasets that read them (upstream-changed).",
        "",
        "Rollback complete: 5 partitions of revenue republished (run #3).",
        "",
      ].join("\n"),
    );
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(liveVersions("revenue")).toEqual(DAYS.map((day, i) => [day, 11 + i]));
    expect(state("select id, command, status from runs order by id")).toEqual([
      { id: 1, command: "apply --yes --as-of 2024-01-06", status: "succeeded" },
      { id: 2, command: "apply --yes --as-of 2024-01-06", status: "succeeded" },
      { id: 3, command: "rollback revenue --yes", status: "succeeded" },
    ]);
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: ["events", "active_users", "revenue", "revenue_total"].map((name) => ({ name, change: "unchanged" })),
      tasks: [...tasks("revenue", "code-changed", DAYS), ...tasks("revenue_total", "upstream-changed", ["*"])],
      summary: { tasks: 6, datasets: 2 },
    });
    expect(withoutClock(ok(project.reflow("history", "revenue", "2024-01-01"))).split("\n").slice(1)).toEqual([
      `2024-01-01       17   #2  ${fingerprint(17)}        1  <time>`,
      `2024-01-01       11   #1  ${fingerprint(11)}        1  <time>  live (rolled back by run #3)`,
      "",
    ]);
    // Applying while the code is unchanged rebuilds what the code says: the rollback is undone, as the plan showed.
    ok(project.reflow(...APPLY));
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_RATE_3);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });

  it("--pin: plan leaves the rolled-back partitions alone and rebuilds only what reads them, until the code changes", () => {
    const out = ok(project.reflow("rollback", "revenue", "--pin", "--yes"));
    expect(out.split("\n").slice(-4)).toEqual([
      "Pinned: `reflow plan` leaves them alone until revenue's code changes; datasets that read them are rebuilt (upstream-changed).",
      "",
      "Rollback complete: 5 partitions of revenue republished and pinned (run #3).",
      "",
    ]);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual(tasks("revenue_total", "upstream-changed", ["*"]));
    ok(project.reflow(...APPLY));
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
    expect(withoutClock(ok(project.reflow("history", "revenue", "2024-01-03"))).split("\n")[2]).toBe(
      `2024-01-03       13   #1  ${fingerprint(13)}        1  <time>  live (rolled back by run #3, pinned)`,
    );

    // A new code change ends the pin...
    project.edit("pipelines/lib/rates.ts", "export const RATE = 3;", "export const RATE = 4;");
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("revenue", "code-changed", DAYS), ...tasks("revenue_total", "upstream-changed", ["*"])]);
    // ...and code equal to what is live rebuilds nothing (apply only records revenue's definition).
    project.edit("pipelines/lib/rates.ts", "export const RATE = 4;", "export const RATE = 2;");
    expect(planJson(project, "--as-of", AS_OF)).toMatchObject({ tasks: [], summary: { tasks: 0, datasets: 0 } });
  });

  it("a rolled-back partition built with the same code as now is still code-changed (not merely upstream-changed)", () => {
    // revenue_total's versions 16 and 22 share a fingerprint: run #2 rebuilt it only because revenue changed.
    expect(fingerprint(16)).toBe(fingerprint(22));
    ok(project.reflow("rollback", "revenue_total", "--yes"));
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual(tasks("revenue_total", "code-changed", ["*"]));
  });

  it("reflow unpin ends the pin: the partitions are rebuilt again while the code is unchanged", () => {
    ok(project.reflow("rollback", "revenue", "--pin", "--yes"));
    expect(ok(project.reflow("unpin", "revenue", "--from", "2024-01-04"))).toBe(
      "Unpinned 2 partitions of revenue: while its code is unchanged, `reflow plan` rebuilds them (code-changed).\n",
    );
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([
      ...tasks("revenue", "code-changed", ["2024-01-04", "2024-01-05"]),
      ...tasks("revenue_total", "upstream-changed", ["*"]),
    ]);
    const before = project.storageDigest();
    expect(ok(project.reflow("unpin", "revenue_total"))).toBe("No partition of revenue_total is pinned.\n");
    expect(project.storageDigest()).toBe(before);
    expect(ok(project.reflow("unpin", "revenue", "--to", "2024-01-05"))).toBe(
      "Unpinned 3 partitions of revenue: while its code is unchanged, `reflow plan` rebuilds them (code-changed).\n",
    );
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("revenue", "code-changed", DAYS), ...tasks("revenue_total", "upstream-changed", ["*"])]);
  });

  it("--pin on a dataset nothing reads leaves nothing to plan", () => {
    ok(project.reflow("rollback", "revenue_total", "--pin", "--yes"));
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });

  it("--from/--to selects partitions; rolling back again goes one version further back, or refuses when none is kept", () => {
    expect(ok(project.reflow("rollback", "revenue", "--from", "2024-01-04", "--to", "2024-01-05", "--yes")).split("\n").slice(0, 3)).toEqual([
      "Roll back 2 partitions of revenue to its previous version, in one atomic publish:",
      "  2024-01-04: version 20 → 14 (built by run #1, 1 row)",
      "  2024-01-05: version 21 → 15 (built by run #1, 1 row)",
    ]);
    expect(liveVersions("revenue")).toEqual([...DAYS.slice(0, 3).map((day, i) => [day, 17 + i]), ["2024-01-04", 14], ["2024-01-05", 15]]);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([
      ...tasks("revenue", "code-changed", ["2024-01-04", "2024-01-05"]),
      ...tasks("revenue_total", "upstream-changed", ["*"]),
    ]);
    // All five selected, two without an earlier version: nothing at all is rolled back.
    refuses(["rollback", "revenue", "--yes"], "REFLOW_NO_PREVIOUS_VERSION: no earlier version of revenue 2024-01-04, 2024-01-05 is kept; nothing was rolled back");
    expect(liveVersions("revenue")[0]).toEqual(["2024-01-01", 17]);
  });

  it("--to-run RUN republishes the versions live before that run, which can also roll forward", () => {
    ok(project.reflow("rollback", "revenue", "--from", "2024-01-04", "--yes"));
    expect(ok(project.reflow("rollback", "revenue", "--to-run", "2", "--yes"))).toBe(
      [
        "Roll back 3 partitions of revenue to the version live before run #2, in one atomic publish:",
        "  2024-01-01: version 17 → 11 (built by run #1, 1 row)",
        "  2024-01-02: version 18 → 12 (built by run #1, 1 row)",
        "  2024-01-03: version 19 → 13 (built by run #1, 1 row)",
        "2 more selected partitions already have that version and are left alone.",
        "Until revenue's code changes, `reflow plan` rebuilds them (code-changed; --pin leaves them alone) and the datasets that read them (upstream-changed).",
        "",
        "Rollback complete: 3 partitions of revenue republished (run #4).",
        "",
      ].join("\n"),
    );
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    // Before run #3 (the first rollback), run #2's versions were live.
    expect(ok(project.reflow("rollback", "revenue", "--to-run", "3", "--yes"))).toMatch(/^Roll back 5 partitions of revenue to the version live before run #3, /);
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_RATE_3);
    expect(liveVersions("revenue")).toEqual(DAYS.map((day, i) => [day, 17 + i]));
    expect(ok(project.reflow("rollback", "revenue", "--to-run", "3", "--yes"))).toBe(
      "Nothing to roll back: the 5 selected partitions of revenue already have the version live before run #3.\n",
    );
  });

  it("refuses an unknown dataset, a bad key, an unknown run, and partitions without a version to go back to, changing nothing", () => {
    refuses(["rollback", "revenu", "--yes"], 'REFLOW_UNKNOWN_DATASET: no dataset named "revenu" is declared (declared: events, active_users, revenue, revenue_total)');
    refuses(["rollback", "revenue", "--from", "2024-1-4", "--yes"], 'REFLOW_INVALID_ARGUMENT: --from: "2024-1-4" is not a partition key of revenue (daily: YYYY-MM-DD)');
    refuses(["rollback", "revenue_total", "--to", "2024-01-04", "--yes"], 'REFLOW_INVALID_ARGUMENT: --to: "2024-01-04" is not a partition key of revenue_total (unpartitioned: its only key is *)');
    refuses(["rollback", "revenue", "--from", "2024-01-05", "--to", "2024-01-04", "--yes"], "REFLOW_INVALID_ARGUMENT: --from 2024-01-05 is after --to 2024-01-04");
    refuses(["rollback", "revenue", "--from", "2024-02-01", "--yes"], "REFLOW_UNKNOWN_PARTITION: revenue has no built partition from 2024-02-01 on; nothing was rolled back");
    refuses(["rollback", "revenue", "--to-run", "9", "--yes"], "REFLOW_UNKNOWN_RUN: there is no run #9 (the last is #2)");
    refuses(["rollback", "revenue", "--to-run", "0", "--yes"], 'REFLOW_INVALID_ARGUMENT: --to-run: expected a whole number of at least 1, got "0"');
    refuses(
      ["rollback", "events", "--yes"],
      "REFLOW_NO_PREVIOUS_VERSION: no earlier version of events 2024-01-01, 2024-01-02, 2024-01-03, 2024-01-04, 2024-01-05 is kept; nothing was rolled back",
    );
    refuses(
      ["rollback", "revenue", "--to-run", "1", "--yes"],
      "REFLOW_NO_PREVIOUS_VERSION: revenue 2024-01-01, 2024-01-02, 2024-01-03, 2024-01-04, 2024-01-05 had no version before run #1; nothing was rolled back (choose partitions with --from/--to)",
    );
  });

  it("refuses while another process holds the writer lock, changing nothing", async () => {
    const store = (await openStateStore(project.stateLocation, "write"))!;
    const held = await store.lock!.acquire({ command: "test holder" });
    await store.close();
    const locked =
      `REFLOW_LOCKED: the state is locked by another reflow: \`test holder\` (pid ${process.pid} on ${os.hostname()}, since ${held.holder.acquiredAt}). ` +
      "Wait for it to finish or retry with --wait; if that process is gone for good, run `reflow unlock`";
    refuses(["rollback", "revenue", "--yes"], locked);
    refuses(["gc", "--yes"], locked);
    const waited = locked.replace(`since ${held.holder.acquiredAt})`, `since ${held.holder.acquiredAt}); waited 1s`);
    refuses(["rollback", "revenue", "--yes", "--wait=1"], waited);
    refuses(["gc", "--yes", "--wait=1"], waited);
    refuses(["unpin", "revenue", "--wait=1"], waited);
    const store2 = (await openStateStore(project.stateLocation, "write"))!;
    await store2.lock!.breakLock();
    await store2.close();
  });

  it("--wait waits for the holder to finish, then goes on", async () => {
    const store = (await openStateStore(project.stateLocation, "write"))!;
    const held = await store.lock!.acquire({ command: "test holder" });
    const waiting = reflowAsync(project, "gc", "--yes", "--wait=30");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await held.release();
    await store.close();
    expect(await waiting).toEqual({ status: 0, stdout: "Nothing to delete: no version is past retention (retainVersions: 3) or abandoned.\n", stderr: "" });
  });
});

describe("reflow gc", () => {
  it("with every partition within retention, deletes nothing and touches nothing", () => {
    const before = project.storageDigest();
    expect(ok(project.reflow("gc", "--yes"))).toBe("Nothing to delete: no version is past retention (retainVersions: 3) or abandoned.\n");
    expect(project.storageDigest()).toBe(before);
  });

  it("deletes versions past retainVersions, never a live one, reports what it freed, and records it in the state", () => {
    project.write("reflow.yaml", "retainVersions: 1\n");
    // Roll revenue back first: its live versions are then the oldest, and must survive.
    ok(project.reflow("rollback", "revenue", "--yes"));
    const listing = [
      "Delete 6 versions (retainVersions: 1; live versions are never deleted):",
      "  revenue 2024-01-01: version 17 (run #2, 1 row), past retention",
      "  revenue 2024-01-02: version 18 (run #2, 1 row), past retention",
      "  revenue 2024-01-03: version 19 (run #2, 1 row), past retention",
      "  revenue 2024-01-04: version 20 (run #2, 1 row), past retention",
      "  revenue 2024-01-05: version 21 (run #2, 1 row), past retention",
      "  revenue_total (unpartitioned): version 16 (run #1, 1 row), past retention",
    ];
    const before = project.storageDigest();
    expect(project.reflow("gc")).toEqual({
      status: 1,
      stdout: `${listing.join("\n")}\n`,
      stderr: "error REFLOW_CONFIRMATION_REQUIRED: gc asks for confirmation, and there is no terminal to ask on: run `reflow gc --yes` to delete without asking\n",
    });
    expect(project.storageDigest()).toBe(before);

    // SQLite counts the pages' payload; PostgreSQL the stored size of each deleted row.
    const freed =
      project.backend === "sqlite"
        ? 253
        : project.query<{ bytes: number }>(
            "select (select sum(pg_column_size(t.*)) from revenue__rows t where _version between 17 and 21) + " +
              "(select sum(pg_column_size(t.*)) from revenue_total__rows t where _version = 16) as bytes",
          )[0]!.bytes;
    expect(ok(project.reflow("gc", "--yes"))).toBe(`${listing.join("\n")}\n\ngc complete: deleted 6 versions, 6 rows, ${freed} bytes freed.\n`);
    expect(heldVersions("revenue")).toEqual([11, 12, 13, 14, 15]);
    expect(heldVersions("revenue_total")).toEqual([22]);
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(state("select id from tasks where purged_at is not null order by id")).toEqual([16, 17, 18, 19, 20, 21].map((id) => ({ id })));
    expect(withoutClock(ok(project.reflow("history", "revenue", "2024-01-01"))).split("\n").slice(1)).toEqual([
      `2024-01-01       11   #1  ${fingerprint(11)}        1  <time>  live (rolled back by run #3)`,
      "",
    ]);
    refuses(["rollback", "revenue", "--yes"], "REFLOW_NO_PREVIOUS_VERSION: no earlier version of revenue 2024-01-01, 2024-01-02, 2024-01-03, 2024-01-04, 2024-01-05 is kept; nothing was rolled back");
    refuses(
      ["rollback", "revenue", "--to-run", "3", "--yes"],
      "REFLOW_NO_PREVIOUS_VERSION: the version of revenue 2024-01-01, 2024-01-02, 2024-01-03, 2024-01-04, 2024-01-05 live before run #3 was deleted by `reflow gc`; nothing was rolled back",
    );
    expect(ok(project.reflow("gc", "--yes"))).toBe("Nothing to delete: no version is past retention (retainVersions: 1) or abandoned.\n");
  });

  it("history marks the versions the next gc deletes", () => {
    project.write("reflow.yaml", "retainVersions: 1\n");
    expect(withoutClock(ok(project.reflow("history", "revenue", "2024-01-02"))).split("\n").slice(1)).toEqual([
      `2024-01-02       18   #2  ${fingerprint(18)}        1  <time>  live`,
      `2024-01-02       12   #1  ${fingerprint(12)}        1  <time>  past retention: \`reflow gc\` deletes it`,
      "",
    ]);
  });

  it("a dataset's own retainVersions overrides reflow.yaml's for that dataset: history and gc keep what it says", () => {
    project.write("reflow.yaml", "retainVersions: 1\n");
    project.edit("pipelines/revenue.ts", "  inputs: { events },\n", "  inputs: { events },\n  retainVersions: 2,\n");
    expect(withoutClock(ok(project.reflow("history", "revenue", "2024-01-02"))).split("\n").slice(1)).toEqual([
      `2024-01-02       18   #2  ${fingerprint(18)}        1  <time>  live`,
      `2024-01-02       12   #1  ${fingerprint(12)}        1  <time>`,
      "",
    ]);
    const gc = ok(project.reflow("gc", "--yes"));
    expect(gc.replace(/\d+ bytes freed/, "N bytes freed")).toBe(
      [
        "Delete 1 version (retainVersions: 1, revenue: 2; live versions are never deleted):",
        "  revenue_total (unpartitioned): version 16 (run #1, 1 row), past retention",
        "",
        "gc complete: deleted 1 version, 1 row, N bytes freed.",
        "",
      ].join("\n"),
    );
    expect(heldVersions("revenue")).toEqual([11, 12, 13, 14, 15, 17, 18, 19, 20, 21]);
    expect(heldVersions("revenue_total")).toEqual([22]);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toContain("metadata");
  });

  it("refuses a retainVersions below 1, naming the dataset and line", () => {
    project.edit("pipelines/revenue.ts", "  inputs: { events },\n", "  inputs: { events },\n  retainVersions: 0,\n");
    const result = project.reflow("gc", "--yes");
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error REFLOW_INVALID_DECLARATION: .*revenue.*retainVersions must be a whole number of at least 1 \(the live version counts\), got 0\n$/);
  });

  it("deletes the version a killed apply was writing, and settles that run", () => {
    // Killed while its rows stream into the new version (the version is open by then).
    project.edit(
      "pipelines/revenue.ts",
      "    let total = 0;\n",
      '    if (partition.key === "2024-01-03") return (async function* () { yield { day: partition.key, total: 1 }; process.kill(process.pid, "SIGKILL"); })();\n    let total = 0;\n',
    );
    const killed = project.reflow("apply", "--yes", "--concurrency", "1", "--as-of", AS_OF);
    expect(killed.status).not.toBe(0);
    expect(project.query("select version, state from _reflow_versions where state in ('writing', 'written')")).toEqual([{ version: 25, state: "writing" }]);
    expect(ok(project.reflow("gc", "--yes"))).toBe(
      [
        "Delete 1 version (retainVersions: 3; live versions are never deleted):",
        "  revenue 2024-01-03: version 25 (run #3), abandoned: never published",
        "",
        "gc complete: deleted 1 version, 0 rows, 0 bytes freed.",
        "",
      ].join("\n"),
    );
    expect(project.query("select count(*) as n from _reflow_versions where state in ('writing', 'written')")).toEqual([{ n: 0 }]);
    expect(state("select id, status from runs where id = 3")).toEqual([{ id: 3, status: "interrupted" }]);
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_RATE_3);
  });
});

describe("a rollback killed between its steps", () => {
  /** Makes the state look as if `rollback revenue --yes` (run #3) died after recording, before confirming. */
  function killedRollback(published: boolean): void {
    ok(project.reflow("rollback", "revenue", "--yes"));
    project.exec(
      "update runs set status = 'running', finished_at = null where id = 3; update rollbacks set status = 'publishing' where run_id = 3; " +
        "update partitions set live_task_id = live_task_id + 6 where dataset = 'revenue'",
      ".reflow/state.db",
    );
    if (!published) project.exec("update _reflow_live set version = version + 6 where dataset = 'revenue'");
  }

  it("published: the next writer (here another rollback) records it as done", () => {
    killedRollback(true);
    ok(project.reflow("rollback", "revenue_total", "--yes"));
    expect(state("select id, status from runs where id >= 3 order by id")).toEqual([
      { id: 3, status: "succeeded" },
      { id: 4, status: "succeeded" },
    ]);
    expect(liveVersions("revenue")).toEqual(DAYS.map((day, i) => [day, 11 + i]));
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("revenue", "code-changed", DAYS), ...tasks("revenue_total", "code-changed", ["*"])]);
  });

  it("not published: the next writer records it as interrupted; nothing changed", () => {
    killedRollback(false);
    ok(project.reflow("rollback", "revenue_total", "--yes"));
    expect(state("select id, status from runs where id >= 3 order by id")).toEqual([
      { id: 3, status: "interrupted" },
      { id: 4, status: "succeeded" },
    ]);
    expect(liveVersions("revenue")).toEqual(DAYS.map((day, i) => [day, 17 + i]));
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_RATE_3);
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual(tasks("revenue_total", "code-changed", ["*"]));
  });
});
