#!/usr/bin/env node
// reflow's CLI and the user's pipeline modules are TypeScript: tsx compiles both on the fly.
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";

// The reader went away (`reflow plan | head`): stop printing, but let the command finish
// (an apply keeps building and recording) and exit with its own code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = () => true;
  });
}

registerHooks("./commonjs-builds-hooks.mjs", import.meta.url);
register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
