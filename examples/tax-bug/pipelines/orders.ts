import { daily, source } from "@reflow/core";
import { z } from "zod";

const COUNTRIES = ["DE", "FR", "NL"] as const;

/** Six months of orders, generated deterministically from the day. */
export const orders = source("orders", {
  partitions: daily({ start: "2024-01-01", end: "2024-06-30" }),
  schema: z.object({ order_id: z.string(), country: z.enum(COUNTRIES), gross_cents: z.number().int() }),
  read: ({ partition }) => {
    const day = Number(partition.key.slice(8, 10));
    return COUNTRIES.map((country, i) => ({ order_id: `${partition.key}-${country}`, country, gross_cents: 1190 * (day + i) }));
  },
});
