#!/usr/bin/env node
// reflow's CLI and the user's pipeline modules are TypeScript: tsx compiles both on the fly.
import { register as registerHooks } from "node:module";
import { register } from "tsx/esm/api";

registerHooks("./commonjs-builds-hooks.mjs", import.meta.url);
register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
