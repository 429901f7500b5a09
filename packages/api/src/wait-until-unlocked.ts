import type { StateLocation } from "@reflow/core";
import { isLockHolderAlive, lockedError } from "@reflow/state";
import { openStateForReading } from "./open-state-for-reading.js";

/**
 * Polls the writer lock read-only while a live holder has it; REFLOW_LOCKED
 * after `waitMs`. Read-only so that refusing leaves the state as it was.
 */
export async function waitUntilUnlocked(statePath: StateLocation, waitMs: number): Promise<void> {
  const store = await openStateForReading(statePath);
  if (!store) return;
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const holder = await store.reader.lockHolder();
      if (!holder || !isLockHolderAlive(holder)) return;
      if (Date.now() >= deadline) throw lockedError(holder, waitMs);
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    await store.close();
  }
}
