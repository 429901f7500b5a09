import { daily, source } from "@reflow/core";
import { z } from "zod";
import { pick, seededRandom } from "./lib/seeded-random.js";

const HUMAN_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/121.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 Version/17.2 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
  "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0",
];

const BOT_AGENTS = [
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
  "Mozilla/5.0 (compatible; YandexCrawler/3.0)",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
];

/**
 * Raw events: 90 days of page views and payments from people and bots. In a
 * real project `read` would load a day's file or query an API; here it
 * generates the day's events from a seed, so every machine sees the same data.
 */
export const events = source("events", {
  partitions: daily({ start: "2024-01-01", end: "2024-03-30" }),
  description: "Raw web events: page views and payments, bots included.",
  schema: z.object({
    event_id: z.string(),
    user_id: z.string(),
    user_agent: z.string(),
    kind: z.enum(["pageview", "payment"]),
    amount_cents: z.number().int().nonnegative(),
  }),
  read: ({ partition }) => {
    const random = seededRandom(partition.key);
    const rows = [];
    const count = 150 + Math.floor(random() * 100);
    for (let i = 0; i < count; i++) {
      const bot = random() < 0.3;
      const payment = !bot && random() < 0.1;
      rows.push({
        event_id: `${partition.key}-${i}`,
        user_id: bot ? `bot-${Math.floor(random() * 12)}` : `user-${Math.floor(random() * 120)}`,
        user_agent: bot ? pick(random, BOT_AGENTS) : pick(random, HUMAN_AGENTS),
        kind: payment ? ("payment" as const) : ("pageview" as const),
        amount_cents: payment ? 500 + Math.floor(random() * 9500) : 0,
      });
    }
    return rows;
  },
});
