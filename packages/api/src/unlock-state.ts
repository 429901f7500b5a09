import { loadProjectConfig } from "@reflow/compiler";
import { isLockHolderAlive, openStateStore, type LockHolder } from "@reflow/state";
import type { ReflowOptions } from "./reflow-options.js";

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
  const reader = await openStateStore(config.state, "read");
  const holder = await reader?.reader.lockHolder();
  await reader?.close();
  if (!holder) return { removed: false };
  if (options.confirm && !(await options.confirm(holder, isLockHolderAlive(holder)))) return { holder, removed: false };
  const store = (await openStateStore(config.state, "write"))!;
  try {
    const removed = await store.lock!.breakLock();
    return { holder, removed: removed !== undefined };
  } finally {
    await store.close();
  }
}
