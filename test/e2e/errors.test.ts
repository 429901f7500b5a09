import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkpoint, discard, locate, ok, planJson, restore, rowsOf, sortRows, tasks, withoutElapsed, type Checkpoint } from "../support/e2e.js";
import { ACTIVE_USERS_ROWS, AS_OF, AS_OF_ISO, EVENTS_ROWS, fixtureFiles, REVENUE_ROWS, REVENUE_TOTAL_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

/*
 * One project, applied once as of AS_OF. Each test starts from that applied
 * state (restored in place), introduces one mistake, and checks that
 * `apply --yes` (and for some, `plan`) reports it exactly, exits 1 and leaves
 * state and warehouse as they were.
 */
const project = new TempProject(fixtureFiles());
let applied: Checkpoint | undefined;

beforeAll(() => {
  ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
  applied = checkpoint(project);
});
beforeEach(() => restore(project, applied!));
afterAll(() => {
  project.dispose();
  discard(applied);
});

const PLAN = ["plan", "--as-of", AS_OF];
const APPLY = ["apply", "--yes", "--as-of", AS_OF];

/**
 * Runs each command; each must exit 1 with exactly `stderr` and no stdout, and
 * .reflow/ must not change. By default only `apply --yes` (the command that
 * could do damage); a few tests also run `plan` to check it reports the same.
 */
function expectRejected(stderr: string | ((text: string) => void), commands: string[][] = [APPLY]): void {
  const before = project.storageDigest();
  for (const args of commands) {
    const result = project.reflow(...args);
    expect({ args, status: result.status, stdout: result.stdout }).toEqual({ args, status: 1, stdout: "" });
    if (typeof stderr === "string") expect(result.stderr).toBe(stderr);
    else stderr(result.stderr);
  }
  expect(project.storageDigest()).toBe(before);
}

const revenueAt = () => locate(project, "pipelines/revenue.ts", 'dataset("revenue"');

describe("errors in the pipeline code", () => {
  it("a cycle (through ref): REFLOW_CYCLE with the cycle path and where each dataset is declared", () => {
    project.edit("pipelines/revenue.ts", 'import { daily, dataset } from "@reflow/core";', 'import { daily, dataset, ref } from "@reflow/core";');
    project.edit("pipelines/revenue.ts", "inputs: { events },", 'inputs: { events, total: ref("revenue_total") },');
    const totalAt = locate(project, "pipelines/revenue-total.ts", 'dataset("revenue_total"');
    expectRejected(
      `error REFLOW_CYCLE: ${revenueAt()}: datasets form a cycle: revenue → revenue_total → revenue\n` +
        `  revenue (${revenueAt()})\n` +
        `  revenue_total (${totalAt})\n`,
      [PLAN, APPLY],
    );
  });

  it('an unknown input, ref("nope"): REFLOW_UNKNOWN_INPUT naming the dataset, the input and the missing name', () => {
    project.edit("pipelines/revenue.ts", 'import { daily, dataset } from "@reflow/core";', 'import { daily, dataset, ref } from "@reflow/core";');
    project.edit("pipelines/revenue.ts", "inputs: { events },", 'inputs: { events, extra: ref("nope") },');
    expectRejected(`error REFLOW_UNKNOWN_INPUT: ${revenueAt()}: dataset "revenue": input "extra" refers to unknown dataset "nope"\n`);
  });

  it("an unknown input close to a real name suggests it", () => {
    project.edit("pipelines/active-users.ts", 'import { daily, dataset } from "@reflow/core";', 'import { daily, dataset, ref } from "@reflow/core";');
    project.edit("pipelines/active-users.ts", "inputs: { events },", 'inputs: { events: ref("event") },');
    const at = locate(project, "pipelines/active-users.ts", 'dataset("active_users"');
    expectRejected(`error REFLOW_UNKNOWN_INPUT: ${at}: dataset "active_users": input "events" refers to unknown dataset "event" (did you mean "events"?)\n`);
  });

  it("a duplicate dataset name: REFLOW_DUPLICATE_NAME with both locations", () => {
    project.write(
      "pipelines/sales.ts",
      `import { daily, dataset } from "@reflow/core";
import { z } from "zod";

// Copied from revenue.ts; the name was not changed.
export const sales = dataset("revenue", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ day: z.string() }),
  transform: ({ partition }) => [{ day: partition.key }],
});
`,
    );
    const salesAt = locate(project, "pipelines/sales.ts", 'dataset("revenue"');
    expectRejected(`error REFLOW_DUPLICATE_NAME: ${salesAt}: dataset "revenue" is declared twice: first at ${revenueAt()}, again at ${salesAt}\n`);
  });

  it("a pipeline module with a syntax error: REFLOW_MODULE_LOAD_FAILED at the file, line and column of the error", () => {
    project.edit("pipelines/revenue.ts", "total: applyRate(total) }];", "total: applyRate(total) ];");
    const at = locate(project, "pipelines/revenue.ts", "];");
    expectRejected(`error REFLOW_MODULE_LOAD_FAILED: ${at}: syntax error: Expected "}" but found "]"\n`);
  });

  it("a pipeline module that throws while it is imported: REFLOW_MODULE_LOAD_FAILED at the throw, with the error", () => {
    project.edit(
      "pipelines/revenue-total.ts",
      "/** One row over",
      'const target = Number(process.env.REFLOW_E2E_REVENUE_TARGET);\nif (!Number.isFinite(target)) throw new Error("REFLOW_E2E_REVENUE_TARGET must be set to a number");\n\n/** One row over',
    );
    const at = locate(project, "pipelines/revenue-total.ts", "new Error(");
    expectRejected(`error REFLOW_MODULE_LOAD_FAILED: ${at}: failed to load pipeline module: REFLOW_E2E_REVENUE_TARGET must be set to a number\n`);
  });
});

describe("errors in reflow.yaml", () => {
  it("an unknown nested key: REFLOW_CONFIG_INVALID naming the key path and its line", () => {
    project.write("reflow.yaml", 'pipelines: ["pipelines/**/*.ts"]\nwarehouse:\n  type: sqlite\n  pth: .reflow/warehouse.db\n');
    expectRejected("error REFLOW_CONFIG_INVALID: reflow.yaml:4:3: warehouse.pth: unknown key\n");
  });

  it("an unknown top-level key: REFLOW_CONFIG_INVALID naming the key and its line", () => {
    project.write("reflow.yaml", "# build settings\nconcurency: 2\n");
    expectRejected("error REFLOW_CONFIG_INVALID: reflow.yaml:2:1: concurency: unknown key\n");
  });

  it('a wrong type, concurrency: "four": REFLOW_CONFIG_INVALID naming `concurrency` and its line', () => {
    project.write("reflow.yaml", '# build settings\nconcurrency: "four"\n');
    expectRejected("error REFLOW_CONFIG_INVALID: reflow.yaml:2:14: concurrency: Invalid input: expected number, received string\n");
  });
});

describe("a schema violation in a transform's output", () => {
  it("fails that partition (REFLOW_SCHEMA_VIOLATION naming dataset, partition, row and field); its previous rows stay live", () => {
    project.edit("pipelines/revenue.ts", "export const revenue = dataset(", 'const SUSPECT_DAY = "2024-01-03";\n\nexport const revenue = dataset(');
    project.edit(
      "pipelines/revenue.ts",
      "    return [{ day: partition.key, total: applyRate(total) }];",
      '    if (partition.key === SUSPECT_DAY) return [{ day: partition.key, total: 1 }, { day: partition.key, total: "n/a" }];\n' +
        "    return [{ day: partition.key, total: applyRate(total) }];",
    );
    const result = project.reflow(...APPLY);
    expect(result.status).toBe(1);
    expect(withoutElapsed(result.stderr)).toBe(
      [
        "",
        "Apply failed: 4 built, 1 failed, 1 blocked (run #2, <elapsed>).",
        "Failed:",
        '  REFLOW_SCHEMA_VIOLATION: dataset "revenue" partition 2024-01-03: row 2 (index 1): field "total": Invalid input: expected number, received string',
        "Blocked (not run because an input failed):",
        "  revenue_total (unpartitioned): input revenue 2024-01-03 failed",
        "Nothing was published for these partitions: those built before keep their previous rows. Fix the cause, then run `reflow plan` and `reflow apply` again.",
        "",
      ].join("\n"),
    );
    // Not even the valid first row of the rejected version is visible.
    expect(rowsOf(project, "revenue")).toEqual(sortRows(REVENUE_ROWS));
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
    expect(rowsOf(project, "events")).toEqual(sortRows(EVENTS_ROWS));
    expect(rowsOf(project, "active_users")).toEqual(sortRows(ACTIVE_USERS_ROWS));
    expect(planJson(project, "--as-of", AS_OF)).toEqual({
      asOf: AS_OF_ISO,
      datasets: [
        { name: "events", change: "unchanged" },
        { name: "active_users", change: "unchanged" },
        { name: "revenue", change: "modified", category: "breaking", why: "breaking (default)" },
        { name: "revenue_total", change: "unchanged" },
      ],
      tasks: [...tasks("revenue", "failed", ["2024-01-03"]), ...tasks("revenue_total", "upstream-changed", ["*"])],
      summary: { tasks: 2, datasets: 2 },
    });
  });
});
