import { afterAll, describe, expect, it } from "vitest";
import { rowsOf } from "../support/e2e.js";
import { TempProject } from "../support/temp-project.js";

/**
 * Orders read from JSON Lines files laid out by region and day (a multi
 * source), read whole per day and per region; and a source whose days are
 * New York days.
 *
 *   orders (date × region) ──dimension date──▶ daily_orders (daily)
 *                          └─dimension region─▶ region_orders (static eu, us)
 *   ny_days (daily, America/New_York)
 */
const FILES = {
  "pipelines/orders.ts": `import { daily, dataset, dimension, jsonLinesSource, multi, staticPartitions } from "@reflow/core";
import { z } from "zod";

const regions = staticPartitions(["eu", "us"]);

export const orders = jsonLinesSource("orders", {
  partitions: multi({ date: daily({ start: "2024-01-01", end: "2024-01-04" }), region: regions }),
  schema: z.object({ id: z.string(), cents: z.number().int() }),
  path: "data/orders/{region}/{date}.jsonl",
});

const totals = z.object({ partitions: z.number().int(), orders: z.number().int(), cents: z.number().int() });
const total = async (input: { partitions: readonly string[]; rows(): Promise<{ cents: number }[]> }) => {
  const rows = await input.rows();
  return [{ partitions: input.partitions.length, orders: rows.length, cents: rows.reduce((sum, row) => sum + row.cents, 0) }];
};

/** Every region of one day. */
export const dailyOrders = dataset("daily_orders", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { orders: dimension(orders, "date") },
  schema: totals,
  transform: ({ inputs }) => total(inputs.orders),
});

/** Every day of one region. */
export const regionOrders = dataset("region_orders", {
  partitions: regions,
  inputs: { orders: dimension(orders, "region") },
  schema: totals,
  transform: ({ inputs }) => total(inputs.orders),
});
`,
  "pipelines/ny-days.ts": `import { daily, source } from "@reflow/core";
import { z } from "zod";

export const nyDays = source("ny_days", {
  partitions: daily({ start: "2024-01-01", timezone: "America/New_York" }),
  schema: z.object({ start: z.string(), end: z.string() }),
  read: ({ partition }) => [{ start: partition.start!.toISOString(), end: partition.end!.toISOString() }],
});
`,
};

// 2024-01-06 00:00 UTC is 19:00 on January 5 in New York: its last complete day is January 4.
const AS_OF = "2024-01-06";
const order = (id: string, cents: number) => `{"id":"${id}","cents":${cents}}\n`;

describe("multi partitions, time zones and file sources through the CLI", () => {
  const project = new TempProject(FILES);
  afterAll(() => project.dispose());
  for (const region of ["eu", "us"]) {
    for (const day of ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]) {
      if (`${region} ${day}` !== "us 2024-01-04") project.write(`data/orders/${region}/${day}.jsonl`, order(`${region}-${day}`, 100));
    }
  }

  it("builds what has files, fails the partition whose file is missing naming the path, and blocks only its readers", () => {
    const result = project.reflow("apply", "--yes", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /REFLOW_SOURCE_FILE_MISSING: dataset "orders" partition 2024-01-04\|us: no file data\/orders\/us\/2024-01-04\.jsonl \(jsonLinesSource "orders" at pipelines\/orders\.ts:6:23; declare missing: "empty" to read a missing file as no rows\)/,
    );
    expect(rowsOf(project, "daily_orders").map((r) => [r._partition, r.partitions, r.orders])).toEqual([
      ["2024-01-01", 2, 2],
      ["2024-01-02", 2, 2],
      ["2024-01-03", 2, 2],
    ]);
    expect(rowsOf(project, "region_orders").map((r) => [r._partition, r.partitions, r.cents])).toEqual([["eu", 4, 400]]);
    expect(rowsOf(project, "ny_days")).toEqual(
      ["01", "02", "03", "04"].map((d, i) => ({ _partition: `2024-01-${d}`, start: `2024-01-${d}T05:00:00.000Z`, end: `2024-01-0${i + 2}T05:00:00.000Z` })),
    );
  });

  it("an edited file plans exactly its partition, its day and its region (by size and mtime)", () => {
    project.write("data/orders/us/2024-01-04.jsonl", order("us-4", 100));
    project.write("data/orders/eu/2024-01-02.jsonl", order("eu-2", 100) + order("eu-2b", 50));
    const plan = project.reflow("plan", "--json", "--as-of", AS_OF);
    expect(plan.stderr).toBe("");
    expect(JSON.parse(plan.stdout).tasks).toEqual([
      { dataset: "orders", partition: "2024-01-02|eu", reason: "source-changed" },
      { dataset: "orders", partition: "2024-01-04|us", reason: "failed" },
      { dataset: "daily_orders", partition: "2024-01-02", reason: "upstream-changed" },
      { dataset: "daily_orders", partition: "2024-01-04", reason: "missing" },
      { dataset: "region_orders", partition: "eu", reason: "upstream-changed" },
      { dataset: "region_orders", partition: "us", reason: "missing" },
    ]);
    expect(project.reflow("apply", "--yes", "--as-of", AS_OF).status).toBe(0);
    expect(rowsOf(project, "region_orders").map((r) => [r._partition, r.partitions, r.orders, r.cents])).toEqual([
      ["eu", 4, 5, 450],
      ["us", 4, 4, 400],
    ]);
  });

  it("backfills a date range across every region", () => {
    const result = project.reflow("backfill", "orders", "--from", "2024-01-03", "--to", "2024-01-04", "--restate", "--yes", "--json", "--as-of", AS_OF);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout).plan.tasks.map((t: { partition: string; reason: string }) => `${t.partition} ${t.reason}`)).toEqual([
      "2024-01-03|eu restated",
      "2024-01-03|us restated",
      "2024-01-04|eu restated",
      "2024-01-04|us restated",
    ]);
  });

  it("refuses a rollup from New York days into UTC weeks before touching state or warehouse", () => {
    const before = project.storageDigest();
    project.write(
      "pipelines/ny-weeks.ts",
      `import { dataset, weekly } from "@reflow/core";
import { z } from "zod";
import { nyDays } from "./ny-days.js";

export const nyWeeks = dataset("ny_weeks", {
  partitions: weekly({ start: "2024-W01" }),
  inputs: { days: nyDays },
  schema: z.object({ days: z.number().int() }),
  transform: ({ inputs }) => [{ days: inputs.days.partitions.length }],
});
`,
    );
    const result = project.reflow("apply", "--yes", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'error REFLOW_PARTITION_MISMATCH: pipelines/ny-weeks.ts:5:24: dataset "ny_weeks" (weekly from 2024-W01) cannot read input "days" = "ny_days" (daily America/New_York from 2024-01-01) through rollup: rollup needs the same time zone on both sides (America/New_York vs UTC)\n',
    );
    expect(project.storageDigest()).toBe(before);
  });

  it("asks for dimension() when a daily dataset reads a multi input without it", () => {
    project.remove("pipelines/ny-weeks.ts");
    project.edit("pipelines/orders.ts", 'inputs: { orders: dimension(orders, "date") }', "inputs: { orders }");
    const result = project.reflow("plan", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'error REFLOW_PARTITION_MISMATCH: pipelines/orders.ts:19:28: dataset "daily_orders" (daily from 2024-01-01) cannot read input "orders" = "orders" (multi date: daily 2024-01-01 … 2024-01-04 × region: static eu, us): no partition mapping between these grains; say which dimension: dimension(orders, "date") or dimension(orders, "region")\n',
    );
  });
});
