#!/usr/bin/env node
// reflow's CLI and the user's pipeline modules are TypeScript: tsx compiles the pipelines on the
// fly, and the CLI too when it cannot run from its bundle (cli-bundle.mjs).
import { register as registerHooks } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { cliBundle, esbuild } from "./cli-bundle.mjs";
import { requireWithCodeCache } from "./commonjs-code-cache.mjs";
import { pipelinesBundleImporter } from "./pipelines-bundle.mjs";

// The reader went away (`reflow plan | head`): stop printing, but let the command finish
// (an apply keeps building and recording) and exit with its own code. Any other failure to print
// (a full disk under `> file`): the same, said once on stderr, and exit 1.
let outputFailed = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    stream.write = () => true;
    if (error.code === "EPIPE") return;
    outputFailed = true;
    process.exitCode = 1;
    if (stream === process.stdout) process.stderr.write(`error REFLOW_OUTPUT_FAILED: cannot write to standard output: ${error.message}\n`);
  });
}
/** The command's exit code, or 1 if what it printed was lost. */
const exitCode = (code) => (outputFailed ? 1 : code);

/**
 * tsx and reflow's module hooks, registered once, before the first TypeScript module is imported
 * through them; tsx itself is loaded only then, since a run that needs no hook should not pay for it.
 */
let registered;
function registerTypeScript(bundle) {
  return (registered ??= (async () => {
    // tsx gives the modules it compiles source maps only while they are enabled.
    process.setSourceMapsEnabled(true);
    const { register } = await import("tsx/esm/api");
    registerHooks("./commonjs-builds-hooks.mjs", import.meta.url);
    register();
    if (bundle) registerHooks("./cli-bundle-hooks.mjs", import.meta.url, { data: { entries: bundle.entries, dir: bundle.dir } });
  })());
}

/**
 * The analysis worker started before the files are known, as @reflow/compiler's prefetchAnalysis
 * takes it (analysis-worker.ts): no files in its data, unref'd until taken, kept at this key.
 */
const STARTED_ANALYSIS_WORKER = Symbol.for("reflow.startedAnalysisWorker");

function startAnalysisWorker(entry) {
  try {
    const worker = new Worker(new URL(entry), { workerData: { files: undefined } });
    worker.unref();
    // One that fails is not used: the files are analysed on this thread. One that has exited is no
    // longer offered (it would never answer); until its exit event, the taker hears of the exit.
    worker.on("error", () => {});
    worker.once("exit", () => {
      if (globalThis[STARTED_ANALYSIS_WORKER] === worker) delete globalThis[STARTED_ANALYSIS_WORKER];
    });
    globalThis[STARTED_ANALYSIS_WORKER] = worker;
  } catch {
    // Analysed on this thread, as they are needed.
  }
}

/** Stops the worker if no compile took it (a command that ended before loading). */
async function stopAnalysisWorker() {
  const worker = globalThis[STARTED_ANALYSIS_WORKER];
  delete globalThis[STARTED_ANALYSIS_WORKER];
  await worker?.terminate();
}

/** The commands that load the pipelines, as their first argument. */
const COMPILING_COMMANDS = new Set(["plan", "apply", "backfill", "explain", "status", "lineage"]);

/**
 * The project folder a command will load pipelines from, guessed from the arguments before
 * commander reads them (`-p`/`--project`, else the current folder); undefined for other commands.
 * A wrong guess only costs a build nothing uses.
 */
function projectToCompile(args) {
  if (!COMPILING_COMMANDS.has(args[0]) || args.includes("--help") || args.includes("-h")) return undefined;
  let dir = ".";
  for (let i = 1; i < args.length; i++) {
    if (args[i] === "--") break;
    if (args[i] === "-p" || args[i] === "--project") dir = args[++i] ?? dir;
    else if (args[i].startsWith("--project=")) dir = args[i].slice("--project=".length);
  }
  return path.resolve(dir);
}

// Source maps are enabled only before the pipelines load (pipelines-bundle.mjs, or tsx above), whose
// stack frames locate declarations: enabled here, Node would read and index every CLI chunk's map at
// each start (~50 ms). An internal error maps reflow's own frames when it is printed (main.ts).
const bundle = await cliBundle();
if (bundle) {
  // Plain ES modules: no hook is needed to load the CLI, and the pipelines are loaded as one
  // bundle when that is exact (pipelines-bundle.mjs); tsx is registered only if they are not.
  const bundled = pipelinesBundleImporter({ esbuild, entries: bundle.entries, registerHooks: () => registerTypeScript(bundle) });
  const bundling = process.env.REFLOW_PIPELINES_BUNDLE !== "0";
  // esbuild builds the pipelines on another core while this one loads the CLI.
  const projectDir = bundling ? projectToCompile(process.argv.slice(2)) : undefined;
  // And when a pipeline file changed since the last load, the worker that will analyse the edited
  // files (@reflow/compiler's prefetchAnalysis) starts loading ts-morph at once.
  if (projectDir && bundled.startEarly(projectDir).changed) startAnalysisWorker(bundle.analysisWorker);
  const codeCache = requireWithCodeCache(bundle.required);
  const { main } = await import(bundle.main);
  // Edited pipeline files are analysed in a worker thread from this entry (@reflow/compiler's prefetchAnalysis).
  globalThis[Symbol.for("reflow.analysisWorker")] = bundle.analysisWorker;
  globalThis[Symbol.for("reflow.pipelineImporter")] = Object.freeze({
    importAll: (files, projectDir) => (bundling ? bundled.importAll(files, projectDir) : Promise.resolve(false)),
    beforeImports: () => registerTypeScript(bundle),
  });
  process.exitCode = exitCode(await main(process.argv));
  codeCache.save();
  await Promise.all([bundled.dispose(), stopAnalysisWorker()]);
} else {
  await registerTypeScript(undefined);
  const { main } = await import("../src/main.ts");
  process.exitCode = exitCode(await main(process.argv));
}
