import { loadProjectConfig } from "@reflow/compiler";
import { openStateStore, type LockHolder } from "@reflow/state";
import type { ReflowOptions } from "./reflow-options.js";
import { writerLockAt } from "./writer-lock-holder.js";

export interface UnlockOptions extends ReflowOptions {
  /** Asked with the holder before the lock is removed; false cancels. */
  readonly confirm?: (holder: LockHolder, alive: boolean) => Promise<boolean>;
}

export interface UnlockOutcome {
  /** Absent when nobody held the lock. */
  readonly holder?: LockHolder;
  readonly removed: boolean;
}

/** Removes the writer lock of a project whose holder is gone for good (`reflow unlock`). */
export async function unlockState(options: UnlockOptions = {}): Promise<UnlockOutcome> {
  const config = loadProjectConfig(options.projectDir ?? process.cwd());
  const lock = await writerLockAt(config.state);
  if (!lock) return { removed: false };
  const { holder, alive } = lock;
  if (options.confirm && !(await options.confirm(holder, alive))) return { holder, removed: false };
  const store = (await openStateStore(config.state, "write"))!;
  try {
    const removed = await store.lock!.breakLock();
    return { holder, removed: removed !== undefined };
  } finally {
    await store.close();
  }
}
