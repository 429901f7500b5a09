import { loadProjectConfig } from "@reflow/compiler";
import { isLockHolderAlive, openStateStore, type LockHolder } from "@reflow/state";
import type { ReflowOptions } from "./reflow-options.js";

/** Who holds a project's writer lock, and whether that process is alive by every sign reflow can read. */
export interface WriterLockState {
  readonly holder: LockHolder;
  readonly alive: boolean;
}

/** The project's writer lock (`undefined` when nobody holds it, or there is no state yet); reads only. */
export async function writerLockHolder(options: Pick<ReflowOptions, "projectDir"> = {}): Promise<WriterLockState | undefined> {
  const config = loadProjectConfig(options.projectDir ?? process.cwd());
  const store = await openStateStore(config.state, "read");
  const holder = await store?.reader.lockHolder().finally(() => store.close());
  return holder ? { holder, alive: isLockHolderAlive(holder) } : undefined;
}
