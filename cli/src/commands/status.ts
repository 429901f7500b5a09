import { projectStatus, type DatasetStatus } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { colors } from "../terminal.js";

export async function statusCommand(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const statuses = await projectStatus({ projectDir: options.project, ...(options.asOf ? { asOf: options.asOf } : {}) });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatStatus(statuses));
}

export function formatStatus(statuses: readonly DatasetStatus[]): string {
  const header = ["dataset", "kind", "partitions", "built", "outdated", "failed", "missing", "last run"];
  const rows = statuses.map((s) => [
    s.name,
    s.kind,
    String(s.partitions),
    String(s.built),
    String(s.outdated),
    String(s.failed),
    String(s.missing),
    s.lastRun ? `#${s.lastRun.id} ${s.lastRun.status} ${s.lastRun.finishedAt ?? s.lastRun.startedAt}` : "never",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (cells: readonly string[]) => cells.map((cell, i) => (i >= 2 && i <= 6 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  const lines = [colors.bold(render(header)), ...rows.map(render)];
  const failures = statuses.flatMap((s) => s.failures.map((f) => `  ${s.name} ${f.partition}: ${f.error ?? "failed"}`));
  if (failures.length > 0) lines.push("", colors.red("Failed partitions:"), ...failures);
  return `${lines.join("\n")}\n`;
}
