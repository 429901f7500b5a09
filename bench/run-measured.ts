import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const CLI = path.join(REPO_ROOT, "cli/bin/reflow.js");
const RECORD_USAGE = path.join(REPO_ROOT, "bench/record-resource-usage.mjs");

export interface MeasuredRun {
  readonly stdout: string;
  /** Wall-clock time of the whole process, start to exit. */
  readonly seconds: number;
  /** User + system CPU time of the process (not of its children). */
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

export interface MeasureOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
}

/** Runs `reflow ARGS` as a user would (a new process) and measures it; throws if it fails. */
export function runReflow(args: readonly string[], options: MeasureOptions): MeasuredRun {
  return runNode([CLI, ...args], options);
}

/** Runs a node script in a new process: wall time, CPU time and peak RSS; throws with its stderr if it fails. */
export function runNode(args: readonly string[], options: MeasureOptions): MeasuredRun {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "reflow-bench-usage-"));
  const usageFile = path.join(scratch, "usage.json");
  try {
    const started = performance.now();
    const result = spawnSync(process.execPath, [...(options.nodeFlags ?? []), "--import", RECORD_USAGE, ...args], {
      cwd: options.cwd,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...options.env, REFLOW_BENCH_USAGE_FILE: usageFile },
      maxBuffer: 1 << 30,
    });
    const seconds = (performance.now() - started) / 1000;
    if (result.status !== 0) {
      throw new Error(`${path.basename(args[0]!)} ${args.slice(1).join(" ")} exited ${result.status ?? result.signal}: ${result.stderr || result.stdout}`);
    }
    const usage = JSON.parse(readFileSync(usageFile, "utf8")) as { peakRssBytes: number; cpuSeconds: number };
    return { stdout: result.stdout, seconds, ...usage };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
