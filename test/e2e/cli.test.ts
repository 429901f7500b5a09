import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateLine, ok, reflowAsync, storageFiles, tasks, withoutClock, type PlanJson } from "../support/e2e.js";
import { ACTIVE_USERS_TS, AS_OF, AS_OF_ISO, DATASETS, DAYS, FIRST_PLAN_TEXT, fixtureFiles, REVENUE_TS } from "../support/fixture.js";
import { REPO_ROOT, TempProject, type CliResult } from "../support/temp-project.js";

const CONFIRMATION_REQUIRED =
  "error REFLOW_CONFIRMATION_REQUIRED: apply asks for confirmation, and there is no terminal to ask on: run `reflow apply --yes` to apply without asking\n";

/*
 * A project that is never applied: plan, status, lineage, bad arguments and
 * refusals on it. The commands that cannot write run first, side by side; then
 * a check that they created no state or warehouse; then the refused applies,
 * one by one, each checked the same way. (.reflow/cache/, the fingerprint
 * cache, may be created: it is neither.)
 */
describe("a new project", () => {
  const project = new TempProject(fixtureFiles());
  // The read-only commands do not depend on each other: run them side by side.
  const commands = {
    planJson: ["plan", "--json", "--as-of", AS_OF],
    plan: ["plan", "--as-of", AS_OF],
    status: ["status", "--as-of", AS_OF],
    lineage: ["lineage"],
    mermaid: ["lineage", "--format", "mermaid"],
    dot: ["lineage", "--format", "dot"],
    json: ["lineage", "--format", "json"],
    asOfNoSuchDay: ["plan", "--as-of", "2024-02-30"],
    asOfNotPadded: ["plan", "--as-of", "2024-1-6"],
    asOfNoZone: ["plan", "--as-of", "2024-03-31T12:00"],
    unknownCommand: ["frobnicate"],
  };
  const run = {} as Record<keyof typeof commands, CliResult>;
  beforeAll(async () => {
    await Promise.all(
      Object.entries(commands).map(async ([key, args]) => {
        run[key as keyof typeof commands] = await reflowAsync(project, ...args);
      }),
    );
  });
  afterAll(() => project.dispose());

  it("plan --json prints exactly the documented plan", () => {
    const expected: PlanJson = {
      asOf: AS_OF_ISO,
      datasets: DATASETS.map((name) => ({ name, change: "added" })),
      tasks: [
        ...tasks("events", "missing", DAYS),
        ...tasks("active_users", "missing", DAYS),
        ...tasks("revenue", "missing", DAYS),
        ...tasks("revenue_total", "missing", ["*"]),
      ],
      summary: { tasks: 16, datasets: 4 },
    };
    const withNothingToWarnOrDiff = { ...expected, warnings: [], diffs: [] };
    expect(run.planJson).toEqual({ status: 0, stdout: `${JSON.stringify(withNothingToWarnOrDiff, null, 2)}\n`, stderr: "" });
  });

  // Into a file the CLI writes to the descriptor itself (not through process.stdout): the same text.
  it("plan --json > file writes what it prints on a pipe", () => {
    const file = path.join(project.dir, "plan-out.json");
    const fd = openSync(file, "w");
    try {
      const result = spawnSync(process.execPath, [path.join(REPO_ROOT, "cli/bin/reflow.js"), ...commands.planJson], {
        cwd: project.dir,
        stdio: ["ignore", fd, "pipe"],
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
        timeout: 120_000,
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, "utf8")).toBe(run.planJson.stdout);
  });

  it("plan prints each dataset's partitions as a collapsed range, and a `Plan:` summary line", () => {
    expect(run.plan).toEqual({ status: 0, stdout: FIRST_PLAN_TEXT, stderr: "" });
  });

  it("status: every partition missing, never run", () => {
    expect(run.status).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        "dataset        kind     partitions  built  outdated  failed  missing  last run",
        "events         source            5      0         0       0        5  never",
        "active_users   dataset           5      0         0       0        5  never",
        "revenue        dataset           5      0         0       0        5  never",
        "revenue_total  dataset           1      0         0       0        1  never",
        "",
      ].join("\n"),
    });
  });

  it("lineage (text) prints the DAG as a tree from the source", () => {
    expect(run.lineage).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        "events  [source, daily from 2024-01-01]",
        "├── active_users  [daily from 2024-01-01]",
        "└── revenue  [daily from 2024-01-01]",
        "    └── revenue_total  [unpartitioned]",
        "",
      ].join("\n"),
    });
  });

  it("lineage --format mermaid", () => {
    expect(run.mermaid).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        "flowchart LR",
        "  events[(events)]",
        "  active_users[active_users]",
        "  revenue[revenue]",
        "  revenue_total[revenue_total]",
        "  events --> active_users",
        "  events --> revenue",
        "  revenue --> revenue_total",
        "",
      ].join("\n"),
    });
  });

  it("lineage --format dot", () => {
    expect(run.dot).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        "digraph reflow {",
        "  rankdir=LR;",
        '  "events" [shape=cylinder];',
        '  "active_users" [shape=box];',
        '  "revenue" [shape=box];',
        '  "revenue_total" [shape=box];',
        '  "events" -> "active_users" [label="identity"];',
        '  "events" -> "revenue" [label="identity"];',
        '  "revenue" -> "revenue_total" [label="all"];',
        "}",
        "",
      ].join("\n"),
    });
  });

  it("lineage --format json: nodes in topological order with where they are declared, and edges with their mapping", () => {
    const json = ok(run.json);
    expect(JSON.parse(json)).toEqual({
      nodes: [
        { name: "events", kind: "source", partitions: "daily from 2024-01-01", definedAt: locateLine(project, "pipelines/events.ts", 'source("events"') },
        {
          name: "active_users",
          kind: "dataset",
          partitions: "daily from 2024-01-01",
          definedAt: locateLine(project, "pipelines/active-users.ts", 'dataset("active_users"'),
        },
        { name: "revenue", kind: "dataset", partitions: "daily from 2024-01-01", definedAt: locateLine(project, "pipelines/revenue.ts", 'dataset("revenue"') },
        {
          name: "revenue_total",
          kind: "dataset",
          partitions: "unpartitioned",
          definedAt: locateLine(project, "pipelines/revenue-total.ts", 'dataset("revenue_total"'),
        },
      ],
      edges: [
        { from: "events", to: "active_users", alias: "events", mapping: "identity" },
        { from: "events", to: "revenue", alias: "events", mapping: "identity" },
        { from: "revenue", to: "revenue_total", alias: "revenue", mapping: "all" },
      ],
    });
  });

  it.each([
    ["2024-02-30", "asOfNoSuchDay"],
    ["2024-1-6", "asOfNotPadded"],
    ["2024-03-31T12:00", "asOfNoZone"],
  ] as const)("plan --as-of %s is rejected (REFLOW_INVALID_ARGUMENT, exit 1): not a UTC day or a zoned instant", (value, key) => {
    expect(run[key]).toEqual({
      status: 1,
      stdout: "",
      stderr: `error REFLOW_INVALID_ARGUMENT: --as-of: expected YYYY-MM-DD (UTC) or an ISO timestamp with a time zone such as 2024-03-31T12:00:00Z, got "${value}"\n`,
    });
  });

  it("an unknown command exits 1 with commander's message", () => {
    expect(run.unknownCommand.status).toBe(1);
    expect(run.unknownCommand.stderr.split("\n")[0]).toBe("error: unknown command 'frobnicate'");
  });

  it("a reader that goes away (`reflow plan | head`) ends the output quietly: no EPIPE stack, the command's own exit code", async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli/bin/reflow.js"), "plan", "--as-of", AS_OF], { cwd: project.dir, stdio: ["ignore", "pipe", "pipe"] });
    // Closed before the first line is written: every write to stdout fails with EPIPE.
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
  });

  it.skipIf(!existsSync("/dev/full"))("output that cannot be written (a full disk: /dev/full) is REFLOW_OUTPUT_FAILED, said once, exit 1", () => {
    const full = openSync("/dev/full", "w");
    try {
      for (const args of [["plan", "--json"], ["plan"]]) {
        const result = spawnSync(process.execPath, [path.join(REPO_ROOT, "cli/bin/reflow.js"), ...args, "--as-of", AS_OF], {
          cwd: project.dir,
          encoding: "utf8",
          env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
          stdio: ["ignore", full, "pipe"],
        });
        expect({ status: result.status, stderr: result.stderr }, args.join(" ")).toEqual({
          status: 1,
          stderr: "error REFLOW_OUTPUT_FAILED: cannot write to standard output: ENOSPC: no space left on device, write\n",
        });
      }
    } finally {
      closeSync(full);
    }
  });

  it("plan --out into a folder that does not exist is REFLOW_OUTPUT_FAILED naming the file, exit 1", () => {
    const file = path.join(project.dir, "missing/plan.json");
    expect(project.reflow("plan", "--out", file, "--as-of", AS_OF)).toEqual({
      status: 1,
      stdout: "",
      stderr: `error REFLOW_OUTPUT_FAILED: cannot write to ${file}: ENOENT: no such file or directory, open '${file}'\n`,
    });
  });

  it("none of the above created a state or warehouse (nothing under .reflow/ but the fingerprint cache)", () => {
    expect(storageFiles(project)).toEqual([]);
  });

  it("apply --concurrency 0 is rejected (REFLOW_INVALID_ARGUMENT, exit 1) and creates nothing", () => {
    expect(project.reflow("apply", "--yes", "--concurrency", "0", "--as-of", AS_OF)).toEqual({
      status: 1,
      stdout: "",
      stderr: 'error REFLOW_INVALID_ARGUMENT: --concurrency: expected a whole number of at least 1, got "0"\n',
    });
    expect(storageFiles(project)).toEqual([]);
  });

  it("apply without a terminal and without --yes refuses (REFLOW_CONFIRMATION_REQUIRED, exit 1) and creates nothing", () => {
    const result = project.reflow("apply", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(CONFIRMATION_REQUIRED);
    expect(storageFiles(project)).toEqual([]);
  });
});

/*
 * A project applied once as of AS_OF. The tests run in order: a refused apply
 * and a plan (the edits are undone at the end), then status and status --json;
 * then the storage digest taken right after the apply must still hold.
 */
describe("an applied project", () => {
  const project = new TempProject(fixtureFiles());
  let afterApply = "";
  let filesAfterApply: string[] = [];
  beforeAll(() => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    afterApply = project.storageDigest();
    filesAfterApply = storageFiles(project);
  });
  afterAll(() => project.dispose());

  it("apply without --yes and without a terminal refuses with pending changes, writes nothing, and the changes stay pending", () => {
    project.edit("pipelines/active-users.ts", "  inputs: { events },\n", "  inputs: { events },\n  version: 1,\n");
    project.edit("pipelines/revenue.ts", "  inputs: { events },\n", "  inputs: { events },\n  version: 1,\n");
    const before = project.storageDigest();
    const refused = project.reflow("apply", "--as-of", AS_OF);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe(CONFIRMATION_REQUIRED);
    expect(project.storageDigest()).toBe(before);

    // The human plan: changed directly vs downstream, collapsed ranges, summary.
    expect(project.reflow("plan", "--as-of", AS_OF)).toEqual({
      status: 0,
      stderr: "",
      stdout: [
        `Plan as of ${AS_OF_ISO}`,
        "",
        "Changed directly:",
        "  ~ active_users (modified): breaking (default)",
        "  ~ revenue (modified): breaking (default)",
        "Affected downstream (rebuilt unless what they read comes out unchanged):",
        "  ↳ revenue_total (reads revenue)",
        "",
        "What changed since the live partitions were built:",
        "  active_users:",
        "    version 0 → 1",
        "  revenue:",
        "    version 0 → 1",
        "",
        "Partitions to build:",
        "  active_users: 2024-01-01 … 2024-01-05 (5 partitions) code-changed",
        "  revenue: 2024-01-01 … 2024-01-05 (5 partitions) code-changed",
        "  revenue_total: (unpartitioned) upstream-changed",
        "",
        "Plan: 11 partitions to build in 3 datasets (10 code-changed, 1 upstream-changed); 2 changed directly.",
        "",
      ].join("\n"),
    });
    project.write("pipelines/active-users.ts", ACTIVE_USERS_TS);
    project.write("pipelines/revenue.ts", REVENUE_TS);
  });

  it("status: every partition built, with the last run", () => {
    const stdout = ok(project.reflow("status", "--as-of", AS_OF));
    expect(withoutClock(stdout)).toBe(
      [
        "dataset        kind     partitions  built  outdated  failed  missing  last run",
        "events         source            5      5         0       0        0  #1 <time>: 5 built",
        "active_users   dataset           5      5         0       0        0  #1 <time>: 5 built",
        "revenue        dataset           5      5         0       0        0  #1 <time>: 5 built",
        "revenue_total  dataset           1      1         0       0        0  #1 <time>: 1 built",
        "",
      ].join("\n"),
    );
  });

  it("status --json", () => {
    const stdout = ok(project.reflow("status", "--json", "--as-of", AS_OF));
    const lastRun = (built: number) => ({
      id: 1,
      command: `apply --yes --as-of ${AS_OF}`,
      status: "succeeded",
      startedAt: "<time>",
      finishedAt: "<time>",
      tasks: { succeeded: built, unchanged: 0, failed: 0, blocked: 0 },
    });
    expect(JSON.parse(withoutClock(stdout))).toEqual(
      [
        ["events", "source", 5],
        ["active_users", "dataset", 5],
        ["revenue", "dataset", 5],
        ["revenue_total", "dataset", 1],
      ].map(([name, kind, partitions]) => ({ name, kind, partitions, built: partitions, outdated: 0, failed: 0, missing: 0, failures: [], warnings: [], lastRun: lastRun(partitions as number) })),
    );
  });

  it("plan and status (run by the tests above) never write: .reflow/ is exactly as apply left it", () => {
    expect(storageFiles(project)).toEqual(filesAfterApply);
    expect(project.storageDigest()).toBe(afterApply);
  });
});
