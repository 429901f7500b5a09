import { createRequire } from "node:module";
import type * as TsMorph from "ts-morph";
import { preloadTsMorph, type TsMorphCodeCache } from "./ts-morph-code-cache.js";

const require = createRequire(import.meta.url);
let tsMorph: typeof TsMorph | undefined;

/**
 * ts-morph, with the TypeScript it bundles, loaded on first use instead of on
 * import: loading it takes about a second, which a run that finds every file
 * in the cache should not pay. Callers write `const { ts } = loadTsMorph()`,
 * a value that stands beside the type-only `ts` namespace import.
 */
export function loadTsMorph(): typeof TsMorph {
  if (!tsMorph) {
    codeCache = preloadTsMorph(require);
    tsMorph = require("ts-morph") as typeof TsMorph;
  }
  return tsMorph;
}

let codeCache: TsMorphCodeCache | undefined;

/**
 * Saves V8's code cache of ts-morph's files that were not loaded from one
 * (`preloadTsMorph`). The analysis worker calls it once
 * it has posted its summaries, off the plan's path.
 */
export function saveTsMorphCodeCache(): void {
  codeCache?.save();
  codeCache = undefined;
}

/** The installed ts-morph version, read without loading it; it pins the TypeScript that parses. */
export function tsMorphVersion(): string {
  return (require("ts-morph/package.json") as { version: string }).version;
}
