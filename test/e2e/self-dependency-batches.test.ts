import { afterAll, describe, expect, it } from "vitest";
import { januaryDays, ok, planJson, rowsOf, tasks } from "../support/e2e.js";
import { TempProject } from "../support/temp-project.js";

/**
 * sales (daily source: data/sales/DAY.json when present, else one sale worth
 * the day of the month) and running_total, which adds each day's sales to its
 * own previous day: `inputs: { sales, prior: previous() }`.
 */
const RUNNING_TOTAL = {
  "pipelines/sales.ts": `import { existsSync, readFileSync } from "node:fs";
import { daily, source } from "@reflow/core";
import { z } from "zod";

export const sales = source("sales", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ amount: z.number().int() }),
  read: ({ partition }) => {
    const file = \`data/sales/\${partition.key}.json\`;
    return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : [{ amount: Number(partition.key.slice(8, 10)) }];
  },
});
`,
  "pipelines/running-total.ts": `import { daily, dataset, previous } from "@reflow/core";
import { z } from "zod";
import { sales } from "./sales.js";

export const runningTotal = dataset("running_total", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ total: z.number().int() }),
  inputs: { sales, prior: previous<{ total: number }>() },
  transform: async ({ inputs }) => {
    const before = (await inputs.prior.rows())[0]?.total ?? 0;
    return [{ total: before + (await inputs.sales.rows()).reduce((sum, s) => sum + s.amount, 0) }];
  },
});
`,
};

const AS_OF = "2024-01-11"; // 2024-01-01 … 2024-01-10 are complete
const totals = (project: TempProject) => rowsOf(project, "running_total").map((r) => [r._partition, r.total]);
const cumulative = (amounts: number[]) => amounts.map((_, i) => amounts.slice(0, i + 1).reduce((a, b) => a + b, 0));

describe("previous(): a running total reads its own previous day", () => {
  const project = new TempProject(RUNNING_TOTAL);
  afterAll(() => project.dispose());
  const days = januaryDays(1, 10);

  it("lineage accepts the self-read and says so", () => {
    expect(ok(project.reflow("lineage"))).toBe("sales  [source, daily from 2024-01-01]\n└── running_total  [daily from 2024-01-01, reads its previous partition]\n");
  });

  it("apply builds every day, each from the day before", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(totals(project)).toEqual(days.map((d, i) => [d, cumulative([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])[i]]));
  });

  it("a corrected day D rebuilds D and every later day, in order, even with --order newest-first", () => {
    project.write("data/sales/2024-01-04.json", JSON.stringify([{ amount: 100 }]));
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("sales", "source-changed", ["2024-01-04"]), ...tasks("running_total", "upstream-changed", januaryDays(4, 10))]);
    const stdout = ok(project.reflow("apply", "--yes", "--order", "newest-first", "--as-of", AS_OF));
    expect(stdout).toContain("\nNote: running_total reads its previous partition, so it is built oldest-first whatever --order says.\n");
    expect(totals(project)).toEqual(days.map((d, i) => [d, cumulative([1, 2, 3, 100, 5, 6, 7, 8, 9, 10])[i]]));
  });

  it("early cutoff: when day D comes out the same, the later days are left as they were", () => {
    project.write("data/sales/2024-01-06.json", JSON.stringify([{ amount: 2 }, { amount: 4 }]));
    const stdout = ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(stdout).toContain("Apply complete: 2 partitions built, 3 rows written; 4 left as they were: what they read came out unchanged");
    expect(totals(project)).toEqual(days.map((d, i) => [d, cumulative([1, 2, 3, 100, 5, 6, 7, 8, 9, 10])[i]]));
  });

  it("a backfill of a middle range rebuilds the later days too, without --downstream", () => {
    const stdout = ok(project.reflow("backfill", "running_total", "--from", "2024-01-08", "--to", "2024-01-08", "--restate", "--yes", "--as-of", AS_OF));
    expect(stdout).toContain("  running_total: 2024-01-08 (1 partition) restated\n  running_total: 2024-01-09 … 2024-01-10 (2 partitions) upstream-changed\n");
  });

  it("--include-incomplete also builds the open day, which is built again once complete", () => {
    const noon = "2024-01-11T12:00:00Z";
    expect(planJson(project, "--as-of", noon).tasks).toEqual([]);
    const plan = planJson(project, "--include-incomplete", "--as-of", noon);
    expect(plan.tasks).toEqual([
      { dataset: "sales", partition: "2024-01-11", reason: "missing", incomplete: true },
      { dataset: "running_total", partition: "2024-01-11", reason: "missing", incomplete: true },
    ]);
    const stdout = ok(project.reflow("apply", "--yes", "--include-incomplete", "--as-of", noon));
    expect(stdout).toContain("  running_total: 2024-01-11 (1 partition) missing, not complete yet\n");
    expect(totals(project).at(-1)).toEqual(["2024-01-11", cumulative([1, 2, 3, 100, 5, 6, 7, 8, 9, 10, 11]).at(-1)]);
    expect(planJson(project, "--as-of", "2024-01-11T23:00:00Z").tasks).toEqual([]);
    expect(planJson(project, "--as-of", "2024-01-12").tasks).toEqual([...tasks("sales", "incomplete", ["2024-01-11"]), ...tasks("running_total", "incomplete", ["2024-01-11"])]);
  });
});

/** A source that is cheap to read in bulk: 31 days per call, each call logged. */
const BATCHED = {
  "pipelines/orders.ts": `import { appendFileSync } from "node:fs";
import { daily, source } from "@reflow/core";
import { z } from "zod";

export const orders = source("orders", {
  partitions: daily({ start: "2023-01-01" }),
  schema: z.object({ day: z.string(), n: z.number().int() }),
  batch: 31,
  read: ({ partitions }) => {
    appendFileSync("calls.log", \`\${partitions[0].key} \${partitions.length}\\n\`);
    return Object.fromEntries(partitions.map((p) => [p.key, [{ day: p.key, n: 1 }]]));
  },
});
`,
};

describe("batch: 31", () => {
  const project = new TempProject(BATCHED);
  afterAll(() => project.dispose());

  it("a new source with 18 months of history is one plain apply, 31 days per read", () => {
    ok(project.reflow("apply", "--yes", "--as-of", "2024-07-01"));
    const calls = project.read("calls.log").trim().split("\n");
    expect(calls).toHaveLength(Math.ceil(547 / 31));
    expect(calls.slice(0, 2)).toEqual(["2023-01-01 31", "2023-02-01 31"]);
    expect(calls.at(-1)).toBe("2024-06-11 20");
    const rows = project.query<{ n: number }>('select count(*) as n from "orders"');
    expect(rows).toEqual([{ n: 547 }]);
    expect(project.query<{ n: number }>("select count(distinct version) as n from _reflow_live where dataset = 'orders'")).toEqual([{ n: 547 }]);
  });

  it("plan observes the source for changes in batches too", () => {
    expect(planJson(project, "--as-of", "2024-07-01").tasks).toEqual([]);
    expect(project.read("calls.log").trim().split("\n")).toHaveLength(2 * 18);
  });
});
