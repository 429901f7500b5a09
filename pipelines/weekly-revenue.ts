import { dataset, weekly } from "@reflow/core";
import { z } from "zod";
import { dailyRevenue } from "./daily-revenue.js";

/** Revenue per ISO week (Monday to Sunday), rolled up from the days: week W reads exactly its 7 days. */
export const weeklyRevenue = dataset("weekly_revenue", {
  partitions: weekly({ start: "2024-W01" }),
  inputs: { days: dailyRevenue },
  schema: z.object({ week: z.string(), days: z.number().int(), payments: z.number().int(), revenue_cents: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    let payments = 0;
    let revenue = 0;
    for await (const day of inputs.days) {
      payments += day.payments;
      revenue += day.revenue_cents;
    }
    return [{ week: partition.key, days: inputs.days.partitions.length, payments, revenue_cents: revenue }];
  },
});
