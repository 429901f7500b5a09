/**
 * A fixed length of time, as authored (`{ hours: 6 }`, `{ days: 7 }`). Kept as
 * written so fingerprints and plans show it; months are left out on purpose
 * because their length varies.
 */
export interface Duration {
  readonly weeks?: number;
  readonly days?: number;
  readonly hours?: number;
  readonly minutes?: number;
}

const UNIT_MS: Readonly<Record<keyof Duration, number>> = { weeks: 604_800_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000 };

export function durationMs(duration: Duration | undefined): number {
  if (!duration) return 0;
  let ms = 0;
  for (const [unit, perUnit] of Object.entries(UNIT_MS) as [keyof Duration, number][]) ms += (duration[unit] ?? 0) * perUnit;
  return ms;
}

/** Why a value is not a duration, or undefined when it is one. `positive` also rejects zero. */
export function durationProblem(value: unknown, positive: boolean): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `expected an object such as { hours: 6 }, got ${JSON.stringify(value)}`;
  const entries = Object.entries(value);
  for (const [unit, amount] of entries) {
    if (!(unit in UNIT_MS)) return `unknown unit "${unit}" (use weeks, days, hours, minutes)`;
    if (!Number.isInteger(amount) || (amount as number) < 0) return `${unit} must be a whole number of at least 0, got ${JSON.stringify(amount)}`;
  }
  if (positive && durationMs(value as Duration) === 0) return `expected a length greater than zero, got ${JSON.stringify(value)}`;
  return undefined;
}

/** A frozen copy holding only the units that were given. */
export function freezeDuration(duration: Duration): Duration {
  return Object.freeze({ ...duration });
}
