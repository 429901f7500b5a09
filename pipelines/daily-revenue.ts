import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";

/** Revenue per day from payment events. */
export const dailyRevenue = dataset("daily_revenue", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { events },
  schema: z.object({ day: z.string(), payments: z.number().int(), revenue_cents: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    let payments = 0;
    let revenue = 0;
    for await (const event of inputs.events) {
      if (event.kind !== "payment") continue;
      payments += 1;
      revenue += event.amount_cents;
    }
    return [{ day: partition.key, payments, revenue_cents: revenue }];
  },
});
