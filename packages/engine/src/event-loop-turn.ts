/**
 * How long building may keep the event loop from turning. A partition's rows go through
 * promises that settle at once (SQLite reads and writes are synchronous), so a long partition
 * would otherwise hold the loop for its whole length: no lock heartbeat (a lease that runs out
 * lets another host take the lock), no Ctrl-C, no progress line, no other I/O.
 */
const TURN_EVERY_MS = 50;

let lastTurn = performance.now();

/**
 * Called between batches of rows: undefined while the loop turned less than 50 ms ago,
 * else a promise that resolves after one turn (`setImmediate`: timers, signals and I/O run first).
 */
export function eventLoopTurnIfDue(): Promise<void> | undefined {
  if (performance.now() - lastTurn < TURN_EVERY_MS) return undefined;
  return new Promise((resolve) =>
    setImmediate(() => {
      lastTurn = performance.now();
      resolve();
    }),
  );
}
