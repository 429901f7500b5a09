/**
 * Calendar arithmetic on UTC partition keys. Keys sort as strings in time
 * order within a grain, and each key names exactly one half-open window.
 * Hand-written with Date.UTC: five fixed formats do not justify a date library.
 */
export type TimeGrain = "hourly" | "daily" | "weekly" | "monthly" | "yearly";

export const TIME_GRAINS: readonly TimeGrain[] = Object.freeze(["hourly", "daily", "weekly", "monthly", "yearly"]);

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** How each grain writes its keys, for error messages. */
export const GRAIN_FORMATS: Readonly<Record<TimeGrain, string>> = Object.freeze({
  hourly: "YYYY-MM-DDTHH",
  daily: "YYYY-MM-DD",
  weekly: "YYYY-Www",
  monthly: "YYYY-MM",
  yearly: "YYYY",
});

const PATTERNS: Readonly<Record<TimeGrain, RegExp>> = {
  hourly: /^(\d{4})-(\d{2})-(\d{2})T(\d{2})$/,
  daily: /^(\d{4})-(\d{2})-(\d{2})$/,
  weekly: /^(\d{4})-W(\d{2})$/,
  monthly: /^(\d{4})-(\d{2})$/,
  yearly: /^(\d{4})$/,
};

/** The grain a key is written in, or undefined for a key of no time grain (static, `*`). */
export function grainOfKey(key: string): TimeGrain | undefined {
  return TIME_GRAINS.find((grain) => PATTERNS[grain].test(key));
}

/** Monday 00:00 UTC of ISO week 1 of an ISO week-year: the week that holds January 4. */
function isoWeekOneMonday(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  return jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS;
}

/** The key of the window that contains instant `ms`. */
export function grainKeyAt(grain: TimeGrain, ms: number): string {
  const iso = new Date(ms).toISOString();
  switch (grain) {
    case "hourly":
      return iso.slice(0, 13);
    case "daily":
      return iso.slice(0, 10);
    case "monthly":
      return iso.slice(0, 7);
    case "yearly":
      return iso.slice(0, 4);
    case "weekly": {
      const day = Math.floor(ms / DAY_MS) * DAY_MS;
      const monday = day - ((new Date(day).getUTCDay() + 6) % 7) * DAY_MS;
      // The ISO week-year is the calendar year of the week's Thursday.
      const year = new Date(monday + 3 * DAY_MS).getUTCFullYear();
      const week = Math.round((monday - isoWeekOneMonday(year)) / (7 * DAY_MS)) + 1;
      return `${String(year).padStart(4, "0")}-W${String(week).padStart(2, "0")}`;
    }
  }
}

/** Start (inclusive, ms since epoch) of a key's window, or undefined when the key is not a real one of that grain. */
export function grainKeyStart(grain: TimeGrain, key: string): number | undefined {
  const m = PATTERNS[grain].exec(key);
  if (!m) return undefined;
  const n = m.slice(1).map(Number) as [number, number, number, number];
  const ms =
    grain === "hourly"
      ? Date.UTC(n[0], n[1] - 1, n[2], n[3])
      : grain === "daily"
        ? Date.UTC(n[0], n[1] - 1, n[2])
        : grain === "monthly"
          ? Date.UTC(n[0], n[1] - 1, 1)
          : grain === "yearly"
            ? Date.UTC(n[0], 0, 1)
            : isoWeekOneMonday(n[0]) + (n[1] - 1) * 7 * DAY_MS;
  // Round-tripping rejects 2024-02-30, hour 24, week 53 of a 52-week year, year 0000 quirks.
  return Number.isNaN(ms) || grainKeyAt(grain, ms) !== key ? undefined : ms;
}

/** Start of the window after the one starting at `startMs`. */
export function nextGrainStart(grain: TimeGrain, startMs: number): number {
  const d = new Date(startMs);
  switch (grain) {
    case "hourly":
      return startMs + HOUR_MS;
    case "daily":
      return startMs + DAY_MS;
    case "weekly":
      return startMs + 7 * DAY_MS;
    case "monthly":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    case "yearly":
      return Date.UTC(d.getUTCFullYear() + 1, 0, 1);
  }
}

/** The half-open window [start, end) of a key, in ms; undefined when the key is not of the grain. */
export function grainWindow(grain: TimeGrain, key: string): { start: number; end: number } | undefined {
  const start = grainKeyStart(grain, key);
  return start === undefined ? undefined : { start, end: nextGrainStart(grain, start) };
}

/** Keys of a grain whose windows intersect [fromMs, toMs), ascending. */
export function grainKeysOverlapping(grain: TimeGrain, fromMs: number, toMs: number): string[] {
  const keys: string[] = [];
  let start = grainKeyStart(grain, grainKeyAt(grain, fromMs))!;
  for (; start < toMs; start = nextGrainStart(grain, start)) keys.push(grainKeyAt(grain, start));
  return keys;
}
