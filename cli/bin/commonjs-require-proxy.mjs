// How both of reflow's bundles (cli-bundle.mjs, pipelines-bundle.mjs) load the CommonJS builds
// of COMMONJS_PACKAGES: with `require`, from a small ES module that re-exports what it returns,
// instead of an ES `import` of the file. An ES import of a CommonJS file makes Node lex it, and every file it
// re-exports, for export names (kysely's build is 263 files: ~0.15 s at every start). The module
// is the same either way: Node keeps one instance per file, for `require` and `import` alike.

import { createRequire } from "node:module";

/** esbuild's namespace for the proxy modules. */
export const REQUIRE_PROXY = "reflow-require";

/** Defines the `require` the proxies call, at the top of each output file. */
export const REQUIRE_PROXY_BANNER = 'import { createRequire as __reflowCreateRequire } from "node:module"; const __reflowRequire = __reflowCreateRequire(import.meta.url);';

/**
 * An esbuild onLoad callback: the proxy of the absolute file `args.path`, an ES module exporting
 * what the CommonJS module exports (its export names read by loading it here, as the CLI does
 * anyway). As CommonJS, each module importing it would copy every export into a namespace
 * object of its own (esbuild's __toESM): zod's ~300, in each of 200 pipeline files.
 */
export function loadRequireProxy(args) {
  const names = Object.keys(createRequire(args.path)(args.path)).filter((name) => name !== "default" && name !== "__esModule");
  const lines = [`const m = __reflowRequire(${JSON.stringify(args.path)});`, "export default m;"];
  names.forEach((name, i) => lines.push(`const e${i} = m[${JSON.stringify(name)}];`, `export { e${i} as ${JSON.stringify(name)} };`));
  return { contents: lines.join("\n"), loader: "js" };
}

/** An esbuild resolution of `specifier`, imported from the file `importer`: a proxy of the file `require` finds from there. */
export function requireProxyOf(specifier, importer) {
  return { path: createRequire(importer).resolve(specifier), namespace: REQUIRE_PROXY };
}
