import { datasetHistory, UNPARTITIONED_KEY, type HistoryVersion } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { colors } from "../terminal.js";

export async function historyCommand(dataset: string, partition: string | undefined, options: GlobalOptions & { json?: boolean }): Promise<void> {
  const history = await datasetHistory({ projectDir: options.project, dataset, ...(partition !== undefined ? { partition } : {}) });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
    return;
  }
  if (history.versions.length === 0) {
    process.stdout.write(`${dataset} has no built versions.\n`);
    return;
  }
  process.stdout.write(formatHistory(history.versions));
}

/** One line per kept version, newest first within each partition; the last column says which is live. */
export function formatHistory(versions: readonly HistoryVersion[]): string {
  const header = ["partition", "version", "run", "fingerprint", "rows", "built at", ""];
  const rows = versions.map((v) => [
    v.partition === UNPARTITIONED_KEY ? "(unpartitioned)" : v.partition,
    String(v.version),
    `#${v.runId}`,
    v.fingerprint.slice(0, 8),
    v.rows.toLocaleString("en-US"),
    v.builtAt,
    note(v),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([1, 2, 4]);
  const render = (cells: readonly string[]) => cells.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return `${[colors.bold(render(header)), ...rows.map(render)].join("\n")}\n`;
}

function note(version: HistoryVersion): string {
  if (version.live) {
    const rollback = version.rollback;
    if (!rollback) return colors.green("live");
    return colors.yellow(`live (rolled back by run #${rollback.runId}${rollback.pinned ? ", pinned" : ""})`);
  }
  return version.pastRetention ? colors.dim("past retention: `reflow gc` deletes it") : "";
}
