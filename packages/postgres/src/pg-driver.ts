import type pg from "pg";

/**
 * The pg driver, loaded on first connection rather than with reflow: a project
 * on the embedded SQLite default never needs it, and loading it is ~50 ms of
 * every command's start.
 */
let driver: typeof pg | undefined;

export async function loadPgDriver(): Promise<typeof pg> {
  driver ??= (await import("pg")).default;
  return driver;
}

/** Whether `error` is a server's error as pg reports it (none can be before pg is loaded). */
export function isPgDatabaseError(error: unknown): error is pg.DatabaseError {
  return driver !== undefined && error instanceof driver.DatabaseError;
}
