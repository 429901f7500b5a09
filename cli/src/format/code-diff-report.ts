import type { DatasetCodeDiff } from "@reflow/api";
import { colors } from "../terminal.js";

/** Per dataset rebuilt because its code changed: what changed since its live partitions were built, as unified diffs. */
export function formatCodeDiffs(diffs: readonly DatasetCodeDiff[]): string[] {
  const shown = diffs.filter((diff) => diff.parts.length > 0 || diff.otherChanges.length > 0);
  if (shown.length === 0) return [];
  const lines = ["", "What changed since the live partitions were built:"];
  for (const diff of shown) {
    lines.push(`  ${colors.bold(diff.dataset)}:`);
    for (const change of diff.otherChanges) lines.push(`    ${change}`);
    for (const part of diff.parts) {
      if (part.patch === undefined) {
        lines.push(`    ${part.file}:${part.line} ${part.name} ${part.change} (its old code was not recorded)`);
        continue;
      }
      for (const line of part.patch.split("\n")) lines.push(`    ${paint(line)}`);
    }
  }
  return lines;
}

function paint(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return colors.bold(line);
  if (line.startsWith("@@")) return colors.cyan(line);
  if (line.startsWith("+")) return colors.green(line);
  if (line.startsWith("-")) return colors.red(line);
  return line;
}
