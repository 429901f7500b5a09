import { dataset } from "@reflow/core";
import { z } from "zod";
import { activeUsers } from "./active-users.js";

/** One row over the whole history: unpartitioned, so it reads every day of active_users. */
export const activeUsersSummary = dataset("active_users_summary", {
  inputs: { activeUsers },
  schema: z.object({
    days: z.number().int(),
    average_active_users: z.number(),
    peak_day: z.string().nullable(),
    peak_active_users: z.number().int(),
  }),
  transform: async ({ inputs }) => {
    const days = await inputs.activeUsers.rows();
    const peak = days.reduce<(typeof days)[number] | undefined>((best, d) => (!best || d.active_users > best.active_users ? d : best), undefined);
    const total = days.reduce((sum, d) => sum + d.active_users, 0);
    return [
      {
        days: days.length,
        average_active_users: days.length === 0 ? 0 : Math.round((total / days.length) * 100) / 100,
        peak_day: peak?.day ?? null,
        peak_active_users: peak?.active_users ?? 0,
      },
    ];
  },
});
