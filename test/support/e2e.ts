import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { REPO_ROOT, TempProject, type CliResult } from "./temp-project.js";

/**
 * Like `project.reflow(...)` (same CLI, folder and environment) but without
 * blocking, so independent commands can run side by side on several cores.
 */
export function reflowAsync(project: TempProject, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "cli/bin/reflow.js"), ...args], {
      cwd: project.dir,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/** A new temp project holding a copy of a checkpoint's files (in another folder, so absolute paths differ). SQLite only. */
export function projectFrom(saved: Checkpoint): TempProject {
  const project = new TempProject();
  if (project.backend !== "sqlite") throw new Error("projectFrom copies .reflow/: it needs the SQLite backend");
  restore(project, saved);
  return project;
}

export type Reason = "missing" | "failed" | "code-changed" | "incomplete" | "source-changed" | "upstream-changed" | "restated";

/** `reflow plan --json`, as documented. */
export interface PlanJson {
  readonly asOf: string;
  readonly datasets: {
    readonly name: string;
    readonly change: "added" | "modified" | "unchanged" | "removed";
    readonly category?: "breaking" | "non-breaking" | "forward-only" | "metadata";
    readonly why?: string;
  }[];
  readonly tasks: { readonly dataset: string; readonly partition: string; readonly reason: Reason; readonly incomplete?: true }[];
  /** Partitions not rebuilt: they record the new versions of inputs a non-breaking change rebuilds. */
  readonly kept?: { readonly dataset: string; readonly partition: string }[];
  readonly accepted?: { readonly dataset: string; readonly partitions: number }[];
  readonly warnings?: { readonly dataset: string; readonly message: string; readonly versions: unknown[] }[];
  readonly summary: { readonly tasks: number; readonly datasets: number; readonly kept?: number };
}

/** Runs `reflow plan --json …`, asserts it succeeded quietly, and parses the plan (without its `diffs`, and `warnings` only when there are some). */
export function planJson(project: TempProject, ...args: string[]): PlanJson {
  const result = project.reflow("plan", "--json", ...args);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  const { diffs: _diffs, warnings, ...plan } = JSON.parse(result.stdout) as PlanJson & { diffs?: unknown };
  return { ...plan, ...(warnings?.length ? { warnings } : {}) };
}

/** Tasks of one dataset, one reason, over some partitions: the rows of `tasks` in a plan. */
export function tasks(dataset: string, reason: Reason, partitions: readonly string[]): PlanJson["tasks"] {
  return partitions.map((partition) => ({ dataset, partition, reason }));
}

/** Days `from` … `to` (inclusive) of January 2024, as partition keys. */
export function januaryDays(from: number, to: number): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d++) days.push(`2024-01-${String(d).padStart(2, "0")}`);
  return days;
}

/** `No changes.` as `plan` and `apply` print it. */
export function noChanges(datasets: number, asOfIso: string): string {
  return `No changes. ${datasets} datasets up to date as of ${asOfIso}.\n`;
}

/** Every live row of a dataset (the view named after it), in a canonical order. */
export function rowsOf(project: TempProject, dataset: string): Record<string, unknown>[] {
  return sortRows(project.query(`select * from "${dataset}"`));
}

/** Rows in a canonical order, so comparisons do not depend on the order a view returns them in. */
export function sortRows<T>(rows: readonly T[]): T[] {
  const key = (row: T) => JSON.stringify(row);
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Replaces the elapsed seconds in `Apply complete/failed: … (run #N, 0.3s)`. */
export function withoutElapsed(text: string): string {
  return text.replace(/\(run #(\d+), \d+\.\ds\)/g, "(run #$1, <elapsed>)");
}

const TIMESTAMP = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;

/** Replaces wall-clock timestamps (not `--as-of` ones, which the tests choose) with `<time>`. */
export function withoutClock(text: string, keep: readonly string[] = []): string {
  return text.replace(TIMESTAMP, (stamp) => (keep.includes(stamp) ? stamp : "<time>"));
}

/**
 * `file:line:column` (1-based) of the first occurrence of `needle` in a
 * project file, as reflow prints locations: relative to the project folder.
 */
export function locate(project: TempProject, file: string, needle: string): string {
  const text = project.read(file);
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${JSON.stringify(needle)} is not in ${file}`);
  if (text.indexOf(needle, index + 1) >= 0) throw new Error(`${JSON.stringify(needle)} occurs more than once in ${file}`);
  const before = text.slice(0, index);
  const line = before.split("\n").length;
  const column = index - before.lastIndexOf("\n");
  return `${file}:${line}:${column}`;
}

/** `file:line` only. */
export function locateLine(project: TempProject, file: string, needle: string): string {
  return locate(project, file, needle).replace(/:\d+$/, "");
}

/** A saved copy of a project's files (everything but node_modules), to return to between tests. */
export interface Checkpoint {
  readonly dir: string;
}

/** Saves every file of the project except node_modules: pipelines, reflow.yaml, .reflow/. */
export function checkpoint(project: TempProject): Checkpoint {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-e2e-checkpoint-"));
  for (const entry of readdirSync(project.dir)) {
    if (entry === "node_modules") continue;
    cpSync(path.join(project.dir, entry), path.join(dir, entry), { recursive: true });
  }
  project.saveStorage(dir);
  return { dir };
}

/** Puts the project back exactly as it was saved, in the same folder. */
export function restore(project: TempProject, saved: Checkpoint): void {
  for (const entry of readdirSync(project.dir)) {
    if (entry === "node_modules") continue;
    rmSync(path.join(project.dir, entry), { recursive: true, force: true });
  }
  for (const entry of readdirSync(saved.dir)) cpSync(path.join(saved.dir, entry), path.join(project.dir, entry), { recursive: true });
  project.restoreStorage(saved.dir);
}

export function discard(saved: Checkpoint | undefined): void {
  if (saved) rmSync(saved.dir, { recursive: true, force: true });
}

/** Asserts a command ran cleanly (exit 0, nothing on stderr) and returns its stdout. */
export function ok(result: CliResult): string {
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return result.stdout;
}

/** The files under .reflow/ (except the fingerprint cache), relative and sorted: what storageDigest hashes. */
export function storageFiles(project: TempProject): string[] {
  const root = path.join(project.dir, ".reflow");
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(root, full);
      if (relative === "cache") continue;
      if (entry.isDirectory()) walk(full);
      else files.push(relative);
    }
  };
  if (existsSync(root)) walk(root);
  return files.sort();
}

/** Runs `run` with extra environment variables, which CLI runs started inside it inherit. */
export function withEnv<T>(env: Record<string, string>, run: () => T): T {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return run();
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}
