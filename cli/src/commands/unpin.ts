import { unpinDataset } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { waitMs, type WaitOption } from "../wait-option.js";
import { plural } from "../terminal.js";

export async function unpinCommand(dataset: string, options: GlobalOptions & WaitOption & { from?: string; to?: string }): Promise<void> {
  const outcome = await unpinDataset({
    projectDir: options.project,
    dataset,
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    ...waitMs(options),
  });
  if (outcome.partitions.length === 0) {
    process.stdout.write(`No partition of ${outcome.dataset} is pinned.\n`);
    return;
  }
  process.stdout.write(
    `Unpinned ${plural(outcome.partitions.length, "partition")} of ${outcome.dataset}: while its code is unchanged, \`reflow plan\` rebuilds them (code-changed).\n`,
  );
}
