import { daily, dataset, source } from "@reflow/core";
import { z } from "zod";

/**
 * A click export that an upstream system failed to deliver for a week. Set
 * CLICKS_OUTAGE=1 to reproduce the outage: reading 2024-02-05 … 2024-02-11 throws.
 */
export const clicks = source("clicks", {
  partitions: daily({ start: "2024-02-01", end: "2024-02-29" }),
  schema: z.object({ campaign: z.string(), clicks: z.number().int() }),
  read: ({ partition }) => {
    if (process.env.CLICKS_OUTAGE === "1" && partition.key >= "2024-02-05" && partition.key <= "2024-02-11") {
      throw new Error(`export for ${partition.key} is not available (HTTP 503)`);
    }
    const day = Number(partition.key.slice(8, 10));
    return [
      { campaign: "spring", clicks: 100 + day },
      { campaign: "brand", clicks: 40 + (day % 7) },
    ];
  },
  // The outage switch does not change what a successful read returns.
  ignoreEnv: ["CLICKS_OUTAGE"],
});

export const clicksPerDay = dataset("clicks_per_day", {
  partitions: daily({ start: "2024-02-01" }),
  inputs: { clicks },
  schema: z.object({ day: z.string(), clicks: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    const rows = await inputs.clicks.rows();
    return [{ day: partition.key, clicks: rows.reduce((sum, r) => sum + r.clicks, 0) }];
  },
});

export const monthClicks = dataset("month_clicks", {
  inputs: { clicksPerDay },
  schema: z.object({ days: z.number().int(), clicks: z.number().int() }),
  transform: async ({ inputs }) => {
    const days = await inputs.clicksPerDay.rows();
    return [{ days: days.length, clicks: days.reduce((sum, d) => sum + d.clicks, 0) }];
  },
});
