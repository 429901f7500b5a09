import { compileProject, loadProjectConfig } from "@reflow/compiler";
import { partitionRange } from "@reflow/core";
import type { StateReader } from "@reflow/state";
import { checkPartitionRange, declaredDataset } from "./declared-dataset.js";
import type { ReflowOptions, WriterLockOptions } from "./reflow-options.js";
import { withStorageView } from "./storage-view.js";
import { waitUntilUnlocked } from "./wait-until-unlocked.js";
import { withWriterLock } from "./with-writer-lock.js";

export interface UnpinOptions extends ReflowOptions, WriterLockOptions {
  readonly dataset: string;
  readonly from?: string;
  readonly to?: string;
}

export interface UnpinOutcome {
  readonly dataset: string;
  /** The partitions whose pin ended, by key; empty when none was pinned. */
  readonly partitions: readonly string[];
}

/**
 * Ends the pins `reflow rollback --pin` recorded: the partitions stay rolled
 * back, so while the code is unchanged the next plan rebuilds them
 * (code-changed). Touches only the state, under the writer lock.
 */
export async function unpinDataset(options: UnpinOptions): Promise<UnpinOutcome> {
  const project = await compileProject(loadProjectConfig(options.projectDir ?? process.cwd()));
  const dataset = declaredDataset(project, options.dataset);
  checkPartitionRange(dataset, options.from, options.to);
  await waitUntilUnlocked(project.config.state, options.waitMs ?? 0);
  const inRange = partitionRange(dataset.partitions, options.from, options.to);
  const pinnedIn = async (state: StateReader) => {
    const partitions = (await state.snapshot()).partitions.get(dataset.name) ?? new Map();
    return [...partitions]
      .filter(([key, p]) => p.rollback?.pinned && inRange(key))
      .map(([key]) => key)
      .sort();
  };
  const pinned = await withStorageView(project.config, async (view) => (view ? pinnedIn(view.state) : []));
  if (pinned.length === 0) return { dataset: dataset.name, partitions: [] };
  return withWriterLock(project.config, `unpin ${dataset.name}`, async (session) => {
    const partitions = await pinnedIn(session.state);
    await session.writer.unpin(dataset.name, partitions);
    return { dataset: dataset.name, partitions };
  }, options.waitMs);
}
