// reflow's own TypeScript (cli/src and packages/*/src), compiled by esbuild into a few ES modules,
// so that starting the CLI does not send each of its ~170 modules through tsx's loader thread
// (tsx stays registered for the user's pipeline modules). The bundle is named after a digest of
// every source file it is built from and rebuilt when one changes, so an edited source is never
// run stale; anything unexpected leaves it out, and the CLI runs from source through tsx as before.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { COMMONJS_PACKAGES, packageName } from "./commonjs-builds-hooks.mjs";
import { loadRequireProxy, REQUIRE_PROXY, REQUIRE_PROXY_BANNER, requireProxyOf } from "./commonjs-require-proxy.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Bundles no CLI has started from for this long are deleted (a running CLI may still import a chunk of its own). */
const PRUNE_AFTER_MS = 7 * 24 * 3600 * 1000;
/** Workspace packages bundled, by folder; each index is an entry, so the pipelines' imports share the CLI's instances. */
const ANALYSIS_WORKER = "reflow-analysis-worker";
const PACKAGES = ["core", "compiler", "state", "warehouse-sqlite", "postgres", "warehouse-postgres", "planner", "engine", "api"];
/**
 * Packages compiled into the bundle with what they import, when the checkout's package-lock.json
 * (in the digest) pins them: loaded as packages, their ~400 files cost ~100 ms of every start.
 * Only reflow's own code imports them, but kysely: a pipeline that imports it gets its CommonJS
 * build, a second instance, which kysely allows (its query nodes are plain objects and its
 * builders are recognised by shape; an e2e test mixes the two). zod stays one shared instance
 * (schemas registered with `.meta()` live in its registry).
 */
const INLINED_PACKAGES = new Set(["yaml", "commander", "cli-progress", "tinyglobby", "picocolors", "kysely"]);
const LOCK_FILE = "package-lock.json";
/**
 * CommonJS-only packages the bundle `require`s too, through the same proxies as COMMONJS_PACKAGES
 * (Node keeps one instance per file for `require` and `import` alike): an ES import makes Node
 * lex better-sqlite3's files for export names at every start (~10-20 ms with the lexer's set-up).
 */
const REQUIRED_PACKAGES = new Set(["better-sqlite3"]);

/**
 * The bundle for the sources as they are now: `main` (cli/src/main.ts), `dir`,
 * `entries`, the URL of each bundled package index (and cli/src/index.ts)
 * to the URL of its compiled entry, and `required`, the CommonJS builds
 * importing it requires (files). Undefined, to run from source, when
 * REFLOW_CLI_BUNDLE=0, when the sources are not a reflow checkout, or when
 * building fails. `root`, `cache` and `settledMs` are for tests: the checkout (default:
 * this one), where bundles are kept (default: its node_modules/.cache/reflow-cli) and
 * how old a file's times must be for its digest to be taken from them (SETTLED_MS).
 */
export async function cliBundle({ root = ROOT, cache = path.join(root, "node_modules", ".cache", "reflow-cli"), settledMs = SETTLED_MS } = {}) {
  if (process.env.REFLOW_CLI_BUNDLE === "0") return undefined;
  try {
    const sources = sourceFiles(root);
    const builds = requiredBuilds(root);
    const dir = path.join(cache, rememberedDigest(root, sources, builds, `${cache}.sources.json`, settledMs));
    const complete = path.join(dir, "complete");
    if (!existsSync(complete)) await build(root, cache, dir, sources);
    else if (Date.now() - statSync(complete).mtimeMs > 3600 * 1000) utimesSync(complete, new Date(), new Date());
    return described(root, dir, builds, sources.includes(path.join(root, LOCK_FILE)));
  } catch {
    return undefined;
  }
}

function entryPoints(root) {
  const entries = { main: path.join(root, "cli/src/main.ts"), reflow: path.join(root, "cli/src/index.ts") };
  for (const name of PACKAGES) entries[`reflow-${name}`] = path.join(root, "packages", name, "src/index.ts");
  // A worker thread's entry (the compiler's analysis of edited files), not a package.
  entries[ANALYSIS_WORKER] = path.join(root, "packages/compiler/src/fingerprint/analysis-worker-main.ts");
  return entries;
}

function described(root, dir, builds, inline) {
  const url = (name) => pathToFileURL(path.join(dir, `${name}.mjs`)).href;
  const entries = {};
  for (const [name, source] of Object.entries(entryPoints(root))) if (name !== "main" && name !== ANALYSIS_WORKER) entries[pathToFileURL(source).href] = url(name);
  // What importing the bundle requires (an inlined package's build only if a pipeline imports it).
  const required = builds.filter(({ name }) => !(inline && INLINED_PACKAGES.has(name))).map(({ file }) => file);
  return { main: url("main"), analysisWorker: url(ANALYSIS_WORKER), dir: pathToFileURL(dir + path.sep).href, entries, required };
}

/** Every file the bundle can be built from, sorted: the sources, the manifests that resolve them, and this recipe. */
function sourceFiles(root) {
  const recipe = ["cli-bundle.mjs", "commonjs-builds-hooks.mjs", "commonjs-require-proxy.mjs"].map((name) => fileURLToPath(new URL(name, import.meta.url)));
  const files = [...recipe, path.join(root, "tsconfig.json"), path.join(root, "cli/package.json")];
  if (existsSync(path.join(root, LOCK_FILE))) files.push(path.join(root, LOCK_FILE));
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(root, "cli/src"));
  for (const name of PACKAGES) {
    files.push(path.join(root, "packages", name, "package.json"));
    walk(path.join(root, "packages", name, "src"));
  }
  return files.sort();
}

/**
 * A file's times are trusted only this long after its last change: a filesystem keeps them in
 * ticks (of up to a second or two), and a file written again within the tick it was hashed in
 * would keep them all, size too.
 */
const SETTLED_MS = 3000;

/**
 * sourceDigest, without reading the files when each one (and esbuild's manifest) has the device,
 * inode, size, modification and change times it had when the digest was last computed, as git
 * trusts its index (a rewritten or replaced file gets a new change time, which no tool can set
 * back): the record is kept only when every file had been settled for `settledMs` by then.
 */
function rememberedDigest(root, files, builds, recordFile, settledMs) {
  const esbuildManifest = tsxRequire().resolve("esbuild/package.json");
  const inputs = [esbuildManifest, ...files];
  const started = Date.now();
  // Times in ms as doubles: to a fraction of a microsecond, finer than any filesystem's tick (BigInt stats cost more).
  const stats = inputs.map((file) => statSync(file));
  const key = {
    node: process.version,
    root,
    // Where the CommonJS builds are (the digest names them); resolved, not read.
    builds: builds.map(({ name, file }) => `${name}\0${file}`),
    files: inputs.map((file, i) => `${file}\0${stats[i].dev}:${stats[i].ino}:${stats[i].size}:${stats[i].mtimeMs}:${stats[i].ctimeMs}`),
  };
  const keyText = JSON.stringify(key);
  try {
    const record = JSON.parse(readFileSync(recordFile, "utf8"));
    if (record.key === keyText && typeof record.digest === "string") return record.digest;
  } catch {
    // None yet, or unreadable: hashed below.
  }
  const digest = sourceDigest(root, files, builds, esbuildManifest);
  if (stats.every((stat) => started - Math.max(stat.mtimeMs, stat.ctimeMs) >= settledMs)) {
    try {
      mkdirSync(path.dirname(recordFile), { recursive: true });
      const scratch = `${recordFile}.${process.pid}.tmp`;
      writeFileSync(scratch, JSON.stringify({ key: keyText, digest }));
      renameSync(scratch, recordFile);
    } catch {
      // Only the next start's speed is lost.
    }
  }
  return digest;
}

/** Each CommonJS build's package name and the file the bundle requires for it. */
function requiredBuilds(root) {
  return [...COMMONJS_PACKAGES, ...REQUIRED_PACKAGES].sort().map((name) => ({ name, file: requireProxyOf(name, path.join(root, "cli/src/main.ts")).path }));
}

function sourceDigest(root, files, builds, esbuildManifestFile) {
  // The esbuild that compiles and the Node it targets are part of the recipe; read, not loaded.
  const esbuildManifest = readFileSync(esbuildManifestFile);
  // The checkout's own path too: the bundle names its source files by absolute path (import.meta.url), so a
  // node_modules copied with its cache into another checkout must not run the first checkout's bundle.
  const hash = createHash("sha256").update(`${process.version}\0${root}\0`).update(esbuildManifest).update("\0");
  for (const file of files) hash.update(`${path.relative(root, file)}\0`).update(readFileSync(file)).update("\0");
  // The bundle names these builds' files: a reinstall that moves one builds a new bundle.
  for (const { name, file } of builds) hash.update(`${name}\0${file}\0`);
  return hash.digest("hex").slice(0, 24);
}

/** esbuild as tsx ships it: reflow declares no dependency of its own on it. */
export function esbuild() {
  return tsxRequire()("esbuild");
}

function tsxRequire() {
  return createRequire(createRequire(path.join(ROOT, "cli/package.json")).resolve("tsx/package.json"));
}

async function build(root, cache, dir, sources) {
  mkdirSync(cache, { recursive: true });
  const scratch = `${dir}.${process.pid}.tmp`;
  rmSync(scratch, { recursive: true, force: true });
  const result = await esbuild().build({
    entryPoints: entryPoints(root),
    outdir: scratch,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    // As tsx compiles: for this Node, keeping function and class names.
    target: `node${process.versions.node}`,
    keepNames: true,
    // Stack traces name the TypeScript sources (tsx enables source maps), as when run through tsx.
    sourcemap: "linked",
    // Stack traces need the mappings, not the sources (on disk): smaller maps for Node to read at every start.
    sourcesContent: false,
    // And `require` for the inlined packages' CommonJS (esbuild's __require calls it for Node's modules).
    banner: { js: `${REQUIRE_PROXY_BANNER} const require = __reflowRequire;` },
    metafile: true,
    logLevel: "silent",
    plugins: [reflowSources(sources.includes(path.join(root, LOCK_FILE)))],
  });
  // Only what was hashed may be in it: otherwise an edit elsewhere would not rebuild it.
  const hashed = new Set(sources);
  for (const input of Object.keys(result.metafile.inputs)) {
    if (input.startsWith(`${REQUIRE_PROXY}:`)) continue;
    const file = path.resolve(process.cwd(), input);
    // An inlined package's file: its version is in the lock file the digest covers.
    if (isInNodeModules(file) && hashed.has(path.join(root, LOCK_FILE))) continue;
    if (!hashed.has(file)) throw new Error(`the CLI bundle would include ${input}, which its digest does not cover`);
  }
  mkdirSync(path.join(scratch, "complete"));
  try {
    renameSync(scratch, dir);
  } catch (error) {
    // Another process built the same bundle meanwhile: use that one.
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(path.join(dir, "complete"))) throw error;
  }
  prune(cache, dir);
}

/**
 * Workspace packages are bundled, and with a lock file the inlined packages and whatever they import;
 * every other package stays an import, resolved at run time like the pipelines' (so both get one
 * instance of zod; of kysely too without a lock file). `import.meta.url` keeps naming each source file, which the code uses
 * to find its own files and to tell its stack frames from the user's.
 */
function reflowSources(inline) {
  return {
    name: "reflow-sources",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path === "reflow" || args.path.startsWith("@reflow/")) return undefined;
        if (inline && INLINED_PACKAGES.has(packageName(args.path))) return undefined;
        // The file the CommonJS-builds hook would pick, named outright (the bundle is imported before any hook is registered) and required.
        if (COMMONJS_PACKAGES.has(packageName(args.path)) || REQUIRED_PACKAGES.has(packageName(args.path))) return requireProxyOf(args.path, args.importer);
        if (inline && isInNodeModules(args.importer)) return undefined;
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /./, namespace: REQUIRE_PROXY }, loadRequireProxy);
      build.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: readFileSync(args.path, "utf8").replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
        loader: "ts",
      }));
    },
  };
}

function isInNodeModules(file) {
  return file.split(path.sep).includes("node_modules");
}

function prune(cache, current) {
  for (const name of readdirSync(cache)) {
    const dir = path.join(cache, name);
    if (dir === current) continue;
    try {
      // A bundle by when a CLI last started from it; a build that died by when it began.
      const used = existsSync(path.join(dir, "complete")) ? path.join(dir, "complete") : dir;
      if (Date.now() - statSync(used).mtimeMs > PRUNE_AFTER_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Pruned by another process.
    }
  }
}
