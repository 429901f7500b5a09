import { projectStatus, UNPARTITIONED_KEY, writerLockHolder, type DatasetStatus, type WriterLockState } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { colors, plural } from "../terminal.js";

export async function statusCommand(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const statuses = await projectStatus({ projectDir: options.project, ...(options.asOf ? { asOf: options.asOf } : {}) });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  // A run still `running` is either in progress (its process holds the writer lock) or was left by a process that died.
  const lock = statuses.some((s) => s.lastRun?.status === "running") ? await writerLockHolder({ projectDir: options.project }) : undefined;
  process.stdout.write(formatStatus(statuses, lock));
}

export function formatStatus(statuses: readonly DatasetStatus[], lock?: WriterLockState): string {
  const running = statuses.find((s) => s.lastRun?.status === "running")?.lastRun;
  // The lock's live holder is that run's process (the same command); another command holding it has not settled the run yet.
  const inProgress = running !== undefined && lock?.alive === true && lock.holder.command === running.command;
  const header = ["dataset", "kind", "partitions", "built", "outdated", "failed", "missing", "last run"];
  const rows = statuses.map((s) => [
    s.name,
    s.kind,
    String(s.partitions),
    String(s.built),
    String(s.outdated),
    String(s.failed),
    String(s.missing),
    s.lastRun ? lastRunCell(s.lastRun, inProgress) : "never",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (cells: readonly string[]) => cells.map((cell, i) => (i >= 2 && i <= 6 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  const lines = [colors.bold(render(header)), ...rows.map(render)];
  if (running) {
    lines.push(
      "",
      inProgress
        ? `Run #${running.id} is in progress: \`${lock!.holder.command}\` (pid ${lock!.holder.pid} on ${lock!.holder.host}, since ${running.startedAt}); the counts are what it has published so far.`
        : `Run #${running.id} (\`${running.command}\`, since ${running.startedAt}) was left unfinished by a process that is gone; the next \`reflow apply\` settles it.`,
    );
  }
  // Recorded errors already name dataset and partition.
  const failures = statuses.flatMap((s) => s.failures.map((f) => `  ${f.error ?? `${s.name} ${f.partition}: failed`}`));
  if (failures.length > 0) lines.push("", colors.red("Failed partitions:"), ...failures);
  const warnings = statuses.flatMap((s) => s.warnings.flatMap((w) => w.messages.map((m) => `  ${s.name} ${w.partition === UNPARTITIONED_KEY ? "(unpartitioned)" : w.partition}: ${m}`)));
  if (warnings.length > 0) lines.push("", colors.yellow("Check warnings on live partitions:"), ...warnings);
  const mixed = statuses.filter((s) => s.mixedLogic);
  if (mixed.length > 0) {
    lines.push("", colors.yellow("Mixed logic: live partitions built by different versions of the code (`reflow plan` lists what rebuilds them):"));
    for (const s of mixed) {
      lines.push(`  ${s.name}:`);
      for (const version of s.mixedLogic!) {
        const ranges = version.ranges.map((r) => (r.count === 1 ? r.first : `${r.first} … ${r.last}`)).join(", ");
        lines.push(`    ${version.fingerprint.slice(0, 8)}${version.current ? " (current code)" : version.accepted ? " (kept by a forward-only change)" : ""}: ${plural(version.partitions, "partition")} (${ranges})`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

/** `#2 2024-01-08T10:00:00.000Z: 6 built, 1 failed`: the dataset's own outcome in its last run. */
function lastRunCell(run: NonNullable<DatasetStatus["lastRun"]>, inProgress: boolean): string {
  const outcomes = [
    `${run.tasks.succeeded} built`,
    ...(run.tasks.unchanged > 0 ? [`${run.tasks.unchanged} unchanged`] : []),
    ...(run.tasks.failed > 0 ? [`${run.tasks.failed} failed`] : []),
    ...(run.tasks.blocked > 0 ? [`${run.tasks.blocked} blocked`] : []),
  ];
  if (run.status !== "running") return `#${run.id} ${run.finishedAt ?? run.startedAt}: ${outcomes.join(", ")}`;
  return `#${run.id} ${inProgress ? "running" : "unfinished"} since ${run.startedAt}: ${outcomes.join(", ")}${inProgress ? " so far" : ""}`;
}
