import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import { planJsonChunks, planProject, savedPlanChunks } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { categoryFlagsOf, type CategoryOptions } from "../category-flags.js";
import { formatWarnings, warningsToJson } from "../format/compile-warnings.js";
import { formatPlan } from "../format/plan-report.js";

export async function planCommand(options: GlobalOptions & CategoryOptions & { json?: boolean; out?: string; includeIncomplete?: boolean }): Promise<void> {
  const categoryFlags = categoryFlagsOf(options);
  const { project, plan, diffs } = await planProject({
    projectDir: options.project,
    ...(options.asOf ? { asOf: options.asOf } : {}),
    categoryFlags,
    ...(options.includeIncomplete ? { includeIncomplete: true } : {}),
  });
  if (options.out) writeChunks(options.out, savedPlanChunks(plan, new Date(), categoryFlags));
  process.stderr.write(formatWarnings(project.warnings));
  if (options.json) {
    // One list: the compiler's warnings (undeclared environment reads), then the plan's (mixed logic).
    const warnings = [...warningsToJson(project.warnings, project.config.projectDir), ...(plan.warnings ?? [])];
    // Written as it is printed, chunk by chunk (24 MB for 223,745 tasks).
    printChunks(planJsonChunks(plan, { warnings, diffs }));
    return;
  }
  process.stdout.write(formatPlan(plan, (name) => project.datasets.get(name)!.partitions, diffs));
  if (options.out) process.stdout.write(`\nSaved to ${options.out}. \`reflow apply ${options.out}\` applies exactly this plan, or refuses if anything changed.\n`);
}

/**
 * Prints chunks on stdout. Into a file (`> plan.json`) each goes straight to
 * the descriptor, as process.stdout would write it there but without making
 * a Buffer of each first (24 MB for 223,745 tasks: ~40–50 ms of CPU); to a pipe
 * or a terminal through process.stdout, stopping once the reader went away (`| head`).
 */
function printChunks(chunks: Iterable<string>): void {
  if (stdoutIsFile()) {
    for (const chunk of chunks) writeSync(STDOUT, chunk);
    return;
  }
  for (const chunk of chunks) {
    if (process.stdout.destroyed) break;
    process.stdout.write(chunk);
  }
}

const STDOUT = 1;

function stdoutIsFile(): boolean {
  try {
    return fstatSync(STDOUT).isFile();
  } catch {
    return false;
  }
}

/** Writes a file chunk by chunk, as writeFileSync would write their concatenation (created or truncated). */
function writeChunks(file: string, chunks: Iterable<string>): void {
  const fd = openSync(file, "w");
  try {
    for (const chunk of chunks) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}
