#!/usr/bin/env node
// reflow's CLI and the user's pipeline modules are TypeScript: tsx compiles the pipelines on the
// fly, and the CLI too when it cannot run from its bundle (cli-bundle.mjs).
import { register as registerHooks } from "node:module";
import { cliBundle, esbuild } from "./cli-bundle.mjs";
import { pipelinesBundleImporter } from "./pipelines-bundle.mjs";

// The reader went away (`reflow plan | head`): stop printing, but let the command finish
// (an apply keeps building and recording) and exit with its own code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = () => true;
  });
}

/**
 * tsx and reflow's module hooks, registered once, before the first TypeScript module is imported
 * through them; tsx itself is loaded only then, since a run that needs no hook should not pay for it.
 */
let registered;
function registerTypeScript(bundle) {
  return (registered ??= (async () => {
    const { register } = await import("tsx/esm/api");
    registerHooks("./commonjs-builds-hooks.mjs", import.meta.url);
    register();
    if (bundle) registerHooks("./cli-bundle-hooks.mjs", import.meta.url, { data: { entries: bundle.entries, dir: bundle.dir } });
  })());
}

// Stack traces name TypeScript positions, reflow's own (the bundle's linked maps) and the pipelines'.
process.setSourceMapsEnabled(true);
const bundle = await cliBundle();
if (bundle) {
  // Plain ES modules: no hook is needed to load the CLI, and the pipelines are loaded as one
  // bundle when that is exact (pipelines-bundle.mjs); tsx is registered only if they are not.
  const { main } = await import(bundle.main);
  const bundled = pipelinesBundleImporter({ esbuild, entries: bundle.entries, registerHooks: () => registerTypeScript(bundle) });
  // Edited pipeline files are analysed in a worker thread from this entry (@reflow/compiler's prefetchAnalysis).
  globalThis[Symbol.for("reflow.analysisWorker")] = bundle.analysisWorker;
  globalThis[Symbol.for("reflow.pipelineImporter")] = Object.freeze({
    importAll: (files, projectDir) => (process.env.REFLOW_PIPELINES_BUNDLE === "0" ? Promise.resolve(false) : bundled.importAll(files, projectDir)),
    beforeImports: () => registerTypeScript(bundle),
  });
  process.exitCode = await main(process.argv);
} else {
  await registerTypeScript(undefined);
  const { main } = await import("../src/main.ts");
  process.exitCode = await main(process.argv);
}
