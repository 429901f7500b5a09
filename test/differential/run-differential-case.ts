import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyProject, observeSources, planFor, type ApplyOutcome } from "@reflow/api";
import { openStateStore } from "@reflow/state";
import { TempProject } from "../support/temp-project.js";
import { dayKey, editCase, generateCase, type CaseModel, type CaseSize } from "./differential-case.js";
import { expectedRecomputation } from "./expected-recomputation.js";
import { renderCase } from "./render-case.js";
import { runTasks, storedPartitions, type StoredProject } from "./stored-partitions.js";

/**
 * Case projects live in memory when the machine has a tmpfs: every task
 * commits a few SQLite transactions, and on a disk their fsyncs cost more
 * than everything else a case does.
 */
const CASE_PARENT = existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();

export interface CaseResult {
  readonly seed: number;
  /** Which edit of the seed's chain (1-based). */
  readonly step: number;
  /** Datasets, their grains, inputs and code, and the edits: enough to read a failure without replaying it. */
  readonly description: string;
  /** Empty when the incremental apply was exact. */
  readonly problems: readonly string[];
  readonly stats: { readonly partitions: number; readonly expected: number; readonly recomputed: number; readonly unchanged: number };
  /** The project folders, kept when the case failed. */
  readonly dirs: readonly string[];
}

interface Built {
  readonly model: CaseModel;
  readonly project: TempProject;
  readonly outcome: ApplyOutcome;
  readonly stored: StoredProject;
}

/**
 * A chain of differential cases on one seeded project: build it from
 * scratch, then `steps` times edit it, `apply` the edit to a copy of the last
 * applied folder (so later edits meet the history earlier ones left: early
 * cutoffs, rebuilt versions) and compare with a from-scratch build of the
 * edited project in a fresh folder. Stops at the first case with problems.
 *
 * ES modules stay cached in a process, so a changed pipeline module cannot be
 * loaded again (REFLOW_MODULE_LOAD_FAILED): edited files always go to a new
 * folder, a copy of the applied one, state and warehouse included.
 */
export async function runDifferentialChain(seed: number, steps: number, size: CaseSize): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  let current: Built | undefined;
  try {
    current = await buildFromScratch(generateCase(seed, size));
    const problems = [...current.stored.inconsistent, ...current.stored.failed];
    if (problems.length > 0) return [{ seed, step: 0, description: describeCase(current.model, []), problems, stats: EMPTY_STATS, dirs: [current.project.dir] }];
    for (let step = 1; step <= steps; step++) {
      const { result, next } = await runCase(current, step);
      results.push(result);
      if (result.problems.length > 0) return results;
      current.project.dispose();
      current = next;
    }
    current.project.dispose();
    return results;
  } catch (error) {
    const problems = [`threw: ${(error as Error).stack ?? String(error)}`];
    return [...results, { seed, step: results.length + 1, description: current ? describeCase(current.model, []) : "", problems, stats: EMPTY_STATS, dirs: current ? [current.project.dir] : [] }];
  }
}

const EMPTY_STATS: CaseResult["stats"] = { partitions: 0, expected: 0, recomputed: 0, unchanged: 0 };

/**
 * A fresh folder with the model's files, applied. `analysedIn`: a folder
 * whose fingerprint cache to reuse, which spares re-parsing the files it
 * already analysed (about a seventh of a case's CPU otherwise): fingerprints decide
 * what to rebuild, and a scratch build rebuilds everything.
 */
async function buildFromScratch(model: CaseModel, analysedIn?: string): Promise<Built> {
  const project = new TempProject(renderCase(model), CASE_PARENT);
  if (analysedIn) copyFingerprintCache(analysedIn, project.dir);
  const outcome = await applyProject({ projectDir: project.dir, asOf: asOfOf(model) });
  return { model, project, outcome, stored: stored(project.dir, outcome, "scratch build") };
}

function asOfOf(model: CaseModel): Date {
  return new Date(`${dayKey(model.days)}T00:00:00Z`);
}

/**
 * One edit: applied incrementally to a copy of `built`, compared with a
 * scratch build of the edited project. The folders are removed unless the
 * case found problems; the incremental one is the next case's `built`.
 */
async function runCase(built: Built, step: number): Promise<{ result: CaseResult; next: Built }> {
  const edited = editCase(built.model, step);
  const asOf = asOfOf(edited.model);
  const incremental = new TempProject({}, CASE_PARENT);
  for (const entry of readdirSync(built.project.dir)) {
    if (entry !== "node_modules") cpSync(path.join(built.project.dir, entry), path.join(incremental.dir, entry), { recursive: true });
  }
  copyFingerprintCache(built.project.dir, incremental.dir);
  for (const [file, text] of Object.entries(renderCase(edited.model))) incremental.write(file, text);
  const applied = await applyProject({ projectDir: incremental.dir, asOf });
  const truth = await buildFromScratch(edited.model, incremental.dir);

  const problems: string[] = [];
  for (const [name, outcome] of [["incremental apply", applied], ["scratch build", truth.outcome]] as const) {
    if (outcome.result && outcome.result.status !== "succeeded") problems.push(`${name}: run ${outcome.result.status}: ${JSON.stringify(outcome.result.failed.slice(0, 3))}`);
  }
  const after = stored(incremental.dir, applied, "incremental apply");
  problems.push(...after.inconsistent, ...after.failed, ...truth.stored.inconsistent, ...truth.stored.failed);
  problems.push(...differences("incremental apply vs scratch build", after, truth.stored));
  for (const [dataset, partitions] of built.stored.partitions) {
    for (const key of partitions.keys()) if (!truth.stored.partitions.get(dataset)?.has(key)) problems.push(`partition gone after the edit: ${dataset} ${key}`);
  }

  const compiled = truth.outcome.project.datasets;
  const mappings = new Map(
    [...compiled.values()].map((d) => [d.name, d.inputs.map((input) => ({ ...input, schemes: { input: compiled.get(input.dataset)!.partitions, output: d.partitions } }))]),
  );
  const oracle = expectedRecomputation(built.model, edited.model, built.stored.partitions, truth.stored.partitions, mappings);
  const runId = applied.result?.runId;
  const recomputed = runTasks(incremental.dir, runId, "succeeded");
  for (const id of oracle.expected) if (!recomputed.has(id)) problems.push(`not recomputed, but ${oracle.why.get(id)}: ${id} (planned: ${reasonOf(applied, id)})`);
  for (const id of recomputed) if (!oracle.expected.has(id)) problems.push(`recomputed needlessly (planned as ${reasonOf(applied, id)}): ${id}`);
  problems.push(...(await leftToDo(applied, incremental.dir, asOf)));

  if (problems.length === 0) truth.project.dispose();
  const result: CaseResult = {
    seed: built.model.seed,
    step,
    description: describeCase(built.model, edited.edits),
    problems,
    stats: {
      partitions: [...truth.stored.partitions.values()].reduce((n, p) => n + p.size, 0),
      expected: oracle.expected.size,
      recomputed: recomputed.size,
      unchanged: runTasks(incremental.dir, runId, "unchanged").size,
    },
    dirs: [built.project.dir, incremental.dir, truth.project.dir],
  };
  return { result, next: { model: edited.model, project: incremental, outcome: applied, stored: after } };
}

const CACHE_FILE = ".reflow/cache/fingerprints.json";

/**
 * The compiler's fingerprint cache names files by absolute path, so a copy
 * in another folder would miss every entry: move them to the new folder.
 * Each entry still carries the content hash it is valid for.
 */
function copyFingerprintCache(fromDir: string, toDir: string): void {
  const from = path.join(fromDir, CACHE_FILE);
  if (!existsSync(from)) return;
  mkdirSync(path.dirname(path.join(toDir, CACHE_FILE)), { recursive: true });
  writeFileSync(path.join(toDir, CACHE_FILE), readFileSync(from, "utf8").replaceAll(JSON.stringify(fromDir).slice(1, -1), JSON.stringify(toDir).slice(1, -1)));
}

/** What a folder holds, with its problems (state and warehouse disagreeing, failed partitions) named after `name`. */
function stored(dir: string, outcome: ApplyOutcome, name: string): StoredProject {
  const result = storedPartitions(dir, new Map([...outcome.project.datasets.values()].map((d) => [d.name, d.columns])));
  return {
    ...result,
    inconsistent: result.inconsistent.map((line) => `${name}: state and warehouse disagree: ${line}`),
    failed: result.failed.map((line) => `${name}: failed partition ${line}`),
  };
}

/** Every partition whose content (or presence) differs between two stored projects. */
function differences(what: string, actual: StoredProject, expected: StoredProject): string[] {
  const problems: string[] = [];
  for (const dataset of new Set([...actual.partitions.keys(), ...expected.partitions.keys()])) {
    const a = actual.partitions.get(dataset) ?? new Map<string, string>();
    const e = expected.partitions.get(dataset) ?? new Map<string, string>();
    for (const key of new Set([...a.keys(), ...e.keys()])) {
      if (a.get(key) !== e.get(key)) problems.push(`${what}: ${dataset} ${key}: ${a.get(key) ?? "absent"} != ${e.get(key) ?? "absent"}`);
    }
  }
  return problems;
}

function reasonOf(outcome: ApplyOutcome, id: string): string {
  return outcome.plan.tasks.find((t) => `${t.dataset} ${t.partition}` === id)?.reason ?? "not planned";
}

/**
 * After an apply, planning again (same code, same state, same sources) must
 * find nothing to do, whether the snapshot is read whole or on demand (where
 * the planner skips datasets the state's summaries prove up to date).
 */
async function leftToDo(outcome: ApplyOutcome, dir: string, asOf: Date): Promise<string[]> {
  const store = (await openStateStore(path.join(dir, ".reflow/state.db"), "read"))!;
  try {
    const planned: string[][] = [];
    for (const onDemand of [false, true]) {
      const snapshot = await store.reader.snapshot({ onDemand });
      const plan = planFor(outcome.project, snapshot, asOf, await observeSources(outcome.project, snapshot, asOf));
      planned.push(plan.tasks.map((t) => `planned again after the apply${onDemand ? " (on demand)" : ""}: ${t.dataset} ${t.partition} (${t.reason})`));
    }
    return planned.flat();
  } finally {
    await store.close();
  }
}

/** One line per dataset and one per edit. */
export function describeCase(model: CaseModel, edits: readonly string[]): string {
  const lines = model.datasets.map((d) => {
    const inputs = d.inputs.map((i) => `${i.name}${i.wrapper ? ` ${i.wrapper.fn}${i.wrapper.arg ? ` ${i.wrapper.arg}` : ""}` : ""} x${i.weight}`);
    const code = [d.helper === undefined ? "" : `shared${d.helper}`, d.constant === undefined ? "" : `K${d.constant}`, d.versioned ? "sourceVersion" : ""].filter(Boolean);
    return `  ${d.name} ${d.kind} ${d.grain} ${d.reducer} v${d.version}${code.length ? ` [${code.join(" ")}]` : ""}${inputs.length ? ` <- ${inputs.join(", ")}` : ""}`;
  });
  const helpers = model.helpers.map((h, i) => `  shared${i}: ${h.form} base ${h.base}${h.calls === undefined ? "" : ` calls shared${h.calls}`}`);
  return [`${model.datasets.length} datasets, ${model.days} days:`, ...lines, "helpers:", ...helpers, `constants: ${model.constants.join(", ")}`, "edits:", ...edits.map((e) => `  ${e}`)].join("\n");
}
