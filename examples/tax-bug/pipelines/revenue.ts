import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { netOfTax } from "./lib/tax.js";
import { orders } from "./orders.js";

/** Net revenue per day: the dataset with the tax bug. */
export const netRevenue = dataset("net_revenue", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { orders },
  schema: z.object({ day: z.string(), net_cents: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    let net = 0;
    for (const order of await inputs.orders.rows()) net += netOfTax(order.gross_cents, order.country);
    return [{ day: partition.key, net_cents: net }];
  },
});

/** Orders per country per day: does not use the tax helper, so the fix leaves it alone. */
export const ordersByCountry = dataset("orders_by_country", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { orders },
  schema: z.object({ country: z.string(), orders: z.number().int() }),
  transform: async ({ inputs }) => {
    const counts = new Map<string, number>();
    for (const order of await inputs.orders.rows()) counts.set(order.country, (counts.get(order.country) ?? 0) + 1);
    return [...counts].map(([country, n]) => ({ country, orders: n }));
  },
});

/** Net revenue over the whole half year. */
export const netRevenueTotal = dataset("net_revenue_total", {
  inputs: { netRevenue },
  schema: z.object({ days: z.number().int(), net_cents: z.number().int() }),
  transform: async ({ inputs }) => {
    const days = await inputs.netRevenue.rows();
    return [{ days: days.length, net_cents: days.reduce((sum, d) => sum + d.net_cents, 0) }];
  },
});
