import { durationMs, durationProblem, freezeDuration } from "./duration.js";
import type { TimePartitionOptions, TimePartitions } from "./partition-scheme.js";
import { formatLocation, ReflowError, type SourceLocation } from "./reflow-error.js";
import { callerLocation } from "./stack-frames.js";
import { canonicalTimeZone, fromWallClock } from "./time-zone.js";
import { GRAIN_FORMATS, grainKeyStart, grainKeysOverlapping, grainWindow, nextGrainStart, type TimeGrain } from "./time-grain.js";

/**
 * Validates and freezes the options of a time grain helper (`daily()`,
 * `weekly()`…). Errors name the line that called the helper.
 */
export function timePartitions<G extends TimeGrain>(grain: G, options: TimePartitionOptions): TimePartitions<G> {
  if (typeof options !== "object" || options === null) invalidPartitions(grain, `expected options such as { start: ${JSON.stringify(exampleKey(grain))} }`);
  for (const field of ["start", "end"] as const) {
    const value = options[field];
    if (field === "end" && value === undefined) continue;
    if (typeof value !== "string" || grainKeyStart(grain, value) === undefined) {
      invalidPartitions(grain, `${field} must be ${grain === "daily" ? "a date" : "a key"} written ${GRAIN_FORMATS[grain]}, got ${JSON.stringify(value)}`);
    }
  }
  if (options.end !== undefined && options.end < options.start) invalidPartitions(grain, `end ${options.end} is before start ${options.start}`);
  if (options.lag !== undefined) {
    const problem = durationProblem(options.lag, false);
    if (problem) invalidPartitions(grain, `lag: ${problem}`);
  }
  let timezone: string | undefined;
  if (options.timezone !== undefined) {
    timezone = typeof options.timezone === "string" ? canonicalTimeZone(options.timezone) : undefined;
    if (timezone === undefined) invalidPartitions(grain, `timezone must be an IANA time zone name such as "America/New_York", got ${JSON.stringify(options.timezone)}`);
  }
  return Object.freeze({
    kind: grain,
    start: options.start,
    ...(options.end === undefined ? {} : { end: options.end }),
    ...(options.lag === undefined ? {} : { lag: freezeDuration(options.lag) }),
    // UTC is the default: spelling it out must not change the fingerprint.
    ...(timezone === undefined || timezone === "UTC" ? {} : { timezone }),
  }) as TimePartitions<G>;
}

// A function of the module, not made per call: the CLI's bundle keeps function names, a property definition for each one made.
function invalidPartitions(grain: TimeGrain, problem: string): never {
  const location: SourceLocation | undefined = callerLocation();
  const where = location ? `${formatLocation(location)}: ` : "";
  throw new ReflowError("REFLOW_INVALID_PARTITIONS", `${where}${grain}(): ${problem}`, location ? { location } : {});
}

function exampleKey(grain: TimeGrain): string {
  return { hourly: "2024-01-01T00", daily: "2024-01-01", weekly: "2024-W01", monthly: "2024-01", yearly: "2024" }[grain];
}

/**
 * The keys of a time scheme as of an instant, ascending: from start to end, or
 * to the last partition that is complete at `asOf` (its window closed at least
 * `lag` ago), or with `includeIncomplete` to the one that holds `asOf`. Windows
 * close in the scheme's time zone.
 */
export function timePartitionKeys(scheme: TimePartitions, asOf: Date, includeIncomplete = false): string[] {
  // An incomplete partition is one that has started: its end may be up to one window past asOf.
  const completeBefore = includeIncomplete ? Infinity : asOf.getTime() - durationMs(scheme.lag);
  const first = grainKeyStart(scheme.kind, scheme.start)!;
  const keys: string[] = [];
  // `start`/`end` are wall milliseconds: key arithmetic is the same in every zone.
  for (let start = first; ; ) {
    const end = nextGrainStart(scheme.kind, start);
    if (fromWallClock(end, scheme.timezone) > completeBefore || (includeIncomplete && fromWallClock(start, scheme.timezone) >= asOf.getTime())) break;
    const [key] = grainKeysOverlapping(scheme.kind, start, end);
    if (scheme.end !== undefined && key! > scheme.end) break;
    keys.push(key!);
    start = end;
  }
  return keys;
}

/** The half-open window [start, end) a key of a time scheme covers, as instants; local to `timezone` if given. */
export function timeWindow(grain: TimeGrain, key: string, timezone?: string): { start: Date; end: Date } {
  const window = grainWindow(grain, key);
  if (!window) throw new ReflowError("REFLOW_INVALID_ARGUMENT", `not a ${grain} partition key: ${key} (expected ${GRAIN_FORMATS[grain]})`);
  return { start: new Date(fromWallClock(window.start, timezone)), end: new Date(fromWallClock(window.end, timezone)) };
}
