#!/usr/bin/env node
// reflow's CLI and the user's pipeline modules are TypeScript: tsx compiles the pipelines on the
// fly, and the CLI too when it cannot run from its bundle (cli-bundle.mjs).
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";
import { cliBundle } from "./cli-bundle.mjs";

// The reader went away (`reflow plan | head`): stop printing, but let the command finish
// (an apply keeps building and recording) and exit with its own code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = () => true;
  });
}

const bundle = await cliBundle();
registerHooks("./commonjs-builds-hooks.mjs", import.meta.url);
register();
if (bundle) registerHooks("./cli-bundle-hooks.mjs", import.meta.url, { data: { entries: bundle.entries, dir: bundle.dir } });
const { main } = await import(bundle ? bundle.main : "../src/main.ts");
process.exitCode = await main(process.argv);
