import { closeSync, fstatSync, openSync, rmSync, writeSync } from "node:fs";
import { planJsonChunks, planProject, ReflowError, savedPlanChunks } from "@reflow/api";
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
  if (isFile(STDOUT)) {
    try {
      for (const chunk of chunks) writeSync(STDOUT, chunk);
    } catch (error) {
      throw outputFailed("standard output", error);
    }
    return;
  }
  for (const chunk of chunks) {
    if (process.stdout.destroyed) break;
    process.stdout.write(chunk);
  }
}

const STDOUT = 1;

/** Writes a file chunk by chunk, as writeFileSync would write their concatenation (created or truncated); a partial one is deleted. */
function writeChunks(file: string, chunks: Iterable<string>): void {
  let fd: number;
  try {
    fd = openSync(file, "w");
  } catch (error) {
    throw outputFailed(file, error);
  }
  try {
    for (const chunk of chunks) writeSync(fd, chunk);
    closeSync(fd);
  } catch (error) {
    // Only a file this wrote is deleted (`--out /dev/full` names a device).
    const partial = isFile(fd);
    closeQuietly(fd);
    if (partial) rmSync(file, { force: true });
    throw outputFailed(file, error);
  }
}

function isFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failing: the write's error is the one to report.
  }
}

function outputFailed(where: string, error: unknown): ReflowError {
  return new ReflowError("REFLOW_OUTPUT_FAILED", `cannot write to ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
