/**
 * The small project most end-to-end tests run on:
 *
 *   events (source, daily from 2024-01-01)
 *   ├── active_users (daily)      uses lib/helpers.ts normalizeUser
 *   └── revenue (daily)           uses lib/helpers.ts applyRate → lib/rates.ts RATE
 *       └── revenue_total (unpartitioned: reads every day of revenue)
 *
 * `read` returns deterministic rows for day d (d = day of month):
 *   alice 10·d, bob d, alice 1, and on even days carol 5.
 * So revenue(d) = RATE · (11·d + 1 + (d even ? 5 : 0)) with RATE = 2.
 *
 * Each dataset lives in its own file, as a user's project would have it.
 */
export const AS_OF = "2024-01-06";
/** `AS_OF` as the CLI prints it. */
export const AS_OF_ISO = "2024-01-06T00:00:00.000Z";
/** The partitions every daily dataset has as of AS_OF. */
export const DAYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"];

export const EVENTS_TS = `import { daily, source } from "@reflow/core";
import { z } from "zod";

/** Raw payments: deterministic rows per day, so every run sees the same data. */
export const events = source("events", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ user_id: z.string(), amount: z.number().int() }),
  read: ({ partition }) => {
    const day = Number(partition.key.slice(8, 10));
    const rows = [
      { user_id: "alice", amount: 10 * day },
      { user_id: "bob", amount: day },
      { user_id: "alice", amount: 1 },
    ];
    if (day % 2 === 0) rows.push({ user_id: "carol", amount: 5 });
    return rows;
  },
});
`;

export const RATES_TS = `/** How many reporting units one cent is worth. */
export const RATE = 2;
`;

export const HELPERS_TS = `import { RATE } from "./rates.js";

/** Cents to reporting units. */
export function applyRate(cents: number): number {
  return cents * RATE;
}

/** User ids are shown upper-case. */
export function normalizeUser(id: string): string {
  return id.toUpperCase();
}

/** Not used by any transform. */
export function unusedHelper(value: number): number {
  return value + 1;
}
`;

export const REVENUE_TS = `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";
import { applyRate } from "./lib/helpers.js";

export const revenue = dataset("revenue", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { events },
  schema: z.object({ day: z.string(), total: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    let total = 0;
    for (const event of await inputs.events.rows()) total += event.amount;
    return [{ day: partition.key, total: applyRate(total) }];
  },
});
`;

export const REVENUE_TOTAL_TS = `import { dataset } from "@reflow/core";
import { z } from "zod";
import { revenue } from "./revenue.js";

/** One row over the whole history: unpartitioned, so it reads every day of revenue. */
export const revenueTotal = dataset("revenue_total", {
  inputs: { revenue },
  schema: z.object({ days: z.number().int(), total: z.number().int(), first_day: z.string(), last_day: z.string(), read: z.string() }),
  transform: async ({ inputs }) => {
    const rows = await inputs.revenue.rows();
    const days = rows.map((row) => row.day).sort();
    return [
      {
        days: days.length,
        total: rows.reduce((sum, row) => sum + row.total, 0),
        first_day: days[0]!,
        last_day: days[days.length - 1]!,
        read: inputs.revenue.partitions.join(","),
      },
    ];
  },
});
`;

export const ACTIVE_USERS_TS = `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";
import { normalizeUser } from "./lib/helpers.js";

export const activeUsers = dataset("active_users", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { events },
  schema: z.object({ day: z.string(), users: z.number().int(), names: z.string() }),
  transform: async ({ inputs, partition }) => {
    const names = new Set<string>();
    for await (const event of inputs.events) names.add(normalizeUser(event.user_id));
    return [{ day: partition.key, users: names.size, names: [...names].sort().join(",") }];
  },
});
`;

/** The fixture's files, for `new TempProject(fixtureFiles())`. */
export function fixtureFiles(): Record<string, string> {
  return {
    "pipelines/events.ts": EVENTS_TS,
    "pipelines/lib/rates.ts": RATES_TS,
    "pipelines/lib/helpers.ts": HELPERS_TS,
    "pipelines/revenue.ts": REVENUE_TS,
    "pipelines/revenue-total.ts": REVENUE_TOTAL_TS,
    "pipelines/active-users.ts": ACTIVE_USERS_TS,
  };
}

// ---- The rows the fixture must produce (written out, not computed, where they are short). ----

/** events for 2024-01-01 … 2024-01-05. */
export const EVENTS_ROWS = [
  { _partition: "2024-01-01", user_id: "alice", amount: 10 },
  { _partition: "2024-01-01", user_id: "bob", amount: 1 },
  { _partition: "2024-01-01", user_id: "alice", amount: 1 },
  { _partition: "2024-01-02", user_id: "alice", amount: 20 },
  { _partition: "2024-01-02", user_id: "bob", amount: 2 },
  { _partition: "2024-01-02", user_id: "alice", amount: 1 },
  { _partition: "2024-01-02", user_id: "carol", amount: 5 },
  { _partition: "2024-01-03", user_id: "alice", amount: 30 },
  { _partition: "2024-01-03", user_id: "bob", amount: 3 },
  { _partition: "2024-01-03", user_id: "alice", amount: 1 },
  { _partition: "2024-01-04", user_id: "alice", amount: 40 },
  { _partition: "2024-01-04", user_id: "bob", amount: 4 },
  { _partition: "2024-01-04", user_id: "alice", amount: 1 },
  { _partition: "2024-01-04", user_id: "carol", amount: 5 },
  { _partition: "2024-01-05", user_id: "alice", amount: 50 },
  { _partition: "2024-01-05", user_id: "bob", amount: 5 },
  { _partition: "2024-01-05", user_id: "alice", amount: 1 },
];

export const ACTIVE_USERS_ROWS = [
  { _partition: "2024-01-01", day: "2024-01-01", users: 2, names: "ALICE,BOB" },
  { _partition: "2024-01-02", day: "2024-01-02", users: 3, names: "ALICE,BOB,CAROL" },
  { _partition: "2024-01-03", day: "2024-01-03", users: 2, names: "ALICE,BOB" },
  { _partition: "2024-01-04", day: "2024-01-04", users: 3, names: "ALICE,BOB,CAROL" },
  { _partition: "2024-01-05", day: "2024-01-05", users: 2, names: "ALICE,BOB" },
];

/** revenue with RATE = 2: day sums 12, 28, 34, 50, 56. */
export const REVENUE_ROWS = [
  { _partition: "2024-01-01", day: "2024-01-01", total: 24 },
  { _partition: "2024-01-02", day: "2024-01-02", total: 56 },
  { _partition: "2024-01-03", day: "2024-01-03", total: 68 },
  { _partition: "2024-01-04", day: "2024-01-04", total: 100 },
  { _partition: "2024-01-05", day: "2024-01-05", total: 112 },
];

export const REVENUE_TOTAL_ROWS = [
  { _partition: "*", days: 5, total: 360, first_day: "2024-01-01", last_day: "2024-01-05", read: DAYS.join(",") },
];

/** Rows in the warehouse after the first apply as of AS_OF: 17 + 5 + 5 + 1. */
export const FIRST_APPLY_ROWS = 28;

/** The model behind the fixture, for long partition ranges. Day d of January 2024. */
export function modelRevenue(day: number, rate = 2): number {
  return rate * (11 * day + 1 + (day % 2 === 0 ? 5 : 0));
}

/** What `plan` (and `apply`, before it builds) prints for the fixture on a new project as of AS_OF. */
export const FIRST_PLAN_TEXT = `Plan as of 2024-01-06T00:00:00.000Z

Changed directly:
  + events (added)
  + active_users (added)
  + revenue (added)
  + revenue_total (added)

Partitions to build:
  events: 2024-01-01 … 2024-01-05 (5 partitions) missing
  active_users: 2024-01-01 … 2024-01-05 (5 partitions) missing
  revenue: 2024-01-01 … 2024-01-05 (5 partitions) missing
  revenue_total: (unpartitioned) missing

Plan: 16 partitions to build in 4 datasets (16 missing); 4 changed directly.
`;

/** The datasets of the fixture, in the order plans list them (topological, ties by name). */
export const DATASETS = ["events", "active_users", "revenue", "revenue_total"] as const;
