import { loadProjectConfig } from "@reflow/compiler";
import type { StateLocation } from "@reflow/core";
import { isLockHolderAlive, openStateStore, type LockHolder } from "@reflow/state";
import type { ReflowOptions } from "./reflow-options.js";

/** Who holds a project's writer lock, and whether that process is alive by every sign reflow can read. */
export interface WriterLockState {
  readonly holder: LockHolder;
  readonly alive: boolean;
}

/** The project's writer lock (`undefined` when nobody holds it, or there is no state yet); reads only. */
export async function writerLockHolder(options: Pick<ReflowOptions, "projectDir"> = {}): Promise<WriterLockState | undefined> {
  return writerLockAt(loadProjectConfig(options.projectDir ?? process.cwd()).state);
}

/** `writerLockHolder` of the state at `location`. */
export async function writerLockAt(location: StateLocation): Promise<WriterLockState | undefined> {
  const store = await openStateStore(location, "read");
  const holder = await store?.reader.lockHolder().finally(() => store.close());
  return holder ? { holder, alive: isLockHolderAlive(holder) } : undefined;
}
