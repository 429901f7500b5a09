import { ReflowError } from "./reflow-error.js";
import type { DailyOptions, DailyPartitions } from "./partition-scheme.js";

const DAY_MS = 86_400_000;
const DAY_KEY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses a `YYYY-MM-DD` key to its UTC midnight, or undefined when it is not a real date. */
export function parseDayKey(key: string): number | undefined {
  const match = DAY_KEY.exec(key);
  if (!match) return undefined;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return formatDayKey(ms) === key ? ms : undefined;
}

export function formatDayKey(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Daily partitions, keyed `YYYY-MM-DD` in UTC. */
export function daily(options: DailyOptions): DailyPartitions {
  for (const field of ["start", "end"] as const) {
    const value = options[field];
    if (field === "end" && value === undefined) continue;
    if (typeof value !== "string" || parseDayKey(value) === undefined) {
      throw new ReflowError(
        "REFLOW_INVALID_PARTITIONS",
        `daily(): ${field} must be a date written YYYY-MM-DD, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (options.end !== undefined && options.end < options.start) {
    throw new ReflowError("REFLOW_INVALID_PARTITIONS", `daily(): end ${options.end} is before start ${options.start}`);
  }
  return Object.freeze(options.end === undefined ? { kind: "daily", start: options.start } : { kind: "daily", start: options.start, end: options.end });
}

/**
 * The keys of a daily scheme as of an instant: from start to end, or to the
 * last day that is complete (its midnight-to-midnight window has closed) at `asOf`.
 */
export function dailyKeys(scheme: DailyPartitions, asOf: Date): string[] {
  const first = parseDayKey(scheme.start)!;
  const lastComplete = Math.floor(asOf.getTime() / DAY_MS) * DAY_MS - DAY_MS;
  const last = scheme.end === undefined ? lastComplete : Math.min(parseDayKey(scheme.end)!, lastComplete);
  const keys: string[] = [];
  for (let ms = first; ms <= last; ms += DAY_MS) keys.push(formatDayKey(ms));
  return keys;
}

/** The half-open UTC window [start, end) a daily key covers. */
export function dayWindow(key: string): { start: Date; end: Date } {
  const ms = parseDayKey(key);
  if (ms === undefined) throw new ReflowError("REFLOW_INVALID_ARGUMENT", `not a daily partition key: ${key}`);
  return { start: new Date(ms), end: new Date(ms + DAY_MS) };
}
