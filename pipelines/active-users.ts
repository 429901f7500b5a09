import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";
import { isBot } from "./lib/bots.js";

/** People (not bots) active each day. */
export const activeUsers = dataset("active_users", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { events },
  schema: z.object({ day: z.string(), active_users: z.number().int().nonnegative() }),
  transform: async ({ inputs, partition }) => {
    const people = new Set<string>();
    for (const event of await inputs.events.rows()) {
      if (!isBot(event.user_agent)) people.add(event.user_id);
    }
    return [{ day: partition.key, active_users: people.size }];
  },
});
