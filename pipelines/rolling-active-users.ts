import { daily, dataset, window } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";
import { isBot } from "./lib/bots.js";

/** People (not bots) active in the 7 days ending with each day: day D reads the events of D-6 … D. */
export const rollingActiveUsers = dataset("rolling_active_users", {
  // The events end on 2024-03-30: windows past it would hold fewer days, so stop there too.
  partitions: daily({ start: "2024-01-01", end: "2024-03-30" }),
  inputs: { events: window(events, { days: 7 }) },
  schema: z.object({ day: z.string(), days: z.number().int(), active_users_7d: z.number().int().nonnegative() }),
  transform: async ({ inputs, partition }) => {
    const people = new Set<string>();
    for await (const event of inputs.events) {
      if (!isBot(event.user_agent)) people.add(event.user_id);
    }
    return [{ day: partition.key, days: inputs.events.partitions.length, active_users_7d: people.size }];
  },
});
