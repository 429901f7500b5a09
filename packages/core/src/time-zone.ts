/**
 * Converting between instants and a time zone's wall clock with `Intl`, so no
 * time zone database ships with reflow. Grain arithmetic (time-grain.ts) runs
 * on "wall milliseconds": the local date and time written as if it were UTC.
 * Without a zone (UTC) both conversions are the identity.
 */
const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timezone, format);
  }
  return format;
}

/** The IANA name of a time zone as Intl spells it, or undefined when Intl does not know it. */
export function canonicalTimeZone(timezone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const QUARTER_HOUR_MS = 900_000;
const offsets = new Map<string, Map<number, number>>();

/**
 * The zone's offset from UTC at instant `ms`. Modern offsets are whole quarter
 * hours and change on quarter-hour instants (local mean times before ~1900 do
 * not), so one lookup serves a quarter hour: planning years of hours asks
 * `Intl` once per distinct quarter.
 */
function offsetAt(ms: number, timezone: string): number {
  let cache = offsets.get(timezone);
  if (!cache || cache.size > 100_000) offsets.set(timezone, (cache = new Map()));
  const bucket = Math.floor(ms / QUARTER_HOUR_MS);
  let offset = cache.get(bucket);
  if (offset === undefined) {
    const start = bucket * QUARTER_HOUR_MS;
    const parts: Record<string, number> = {};
    for (const part of formatter(timezone).formatToParts(new Date(start))) parts[part.type] = Number(part.value);
    offset = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - start;
    cache.set(bucket, offset);
  }
  return offset;
}

/** The wall clock of instant `ms` in a zone, as wall milliseconds. */
export function toWallClock(ms: number, timezone: string | undefined): number {
  return timezone === undefined ? ms : ms + offsetAt(ms, timezone);
}

/**
 * The instant a wall clock time happens in a zone. A time the clocks repeat
 * (autumn) is its first occurrence; a time they skip (spring) is the instant
 * of the jump, so the window of a skipped local midnight starts at 01:00.
 */
export function fromWallClock(wall: number, timezone: string | undefined): number {
  if (timezone === undefined) return wall;
  // Offsets a day either side bracket any transition near `wall` (transitions are months apart).
  const before = wall - (toWallClock(wall - DAY_MS, timezone) - (wall - DAY_MS));
  const after = wall - (toWallClock(wall + DAY_MS, timezone) - (wall + DAY_MS));
  const exact = [before, after].filter((instant) => toWallClock(instant, timezone) === wall);
  return exact.length > 0 ? Math.min(...exact) : before;
}
