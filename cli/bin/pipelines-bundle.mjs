// The user's pipeline modules, compiled by esbuild into one ES module, so that loading a project
// of 200 files is one import instead of ~1,200 round trips through tsx's loader thread (the cost
// of a warm `reflow plan`). Used only when the result is provably the same as importing each file
// through tsx: anything the bundle could change (dynamic imports, `require`, `import.meta`, a
// tsconfig that applies to some files only, a `node_modules` the bundle's folder would not see,
// a build error, a module that throws) returns false, and the compiler imports the files one by
// one through tsx as before, which also gives the errors their usual messages.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { COMMONJS_PACKAGES, packageName } from "./commonjs-builds-hooks.mjs";
import { loadRequireProxy, REQUIRE_PROXY, REQUIRE_PROXY_BANNER, requireProxyOf } from "./commonjs-require-proxy.mjs";

/** The bundle's entry, importing every pipeline file in order: a name no file has. */
const ENTRY = "<reflow pipelines>";
/** How the metafile names esbuild's own helpers (`__name` for keepNames): an import of no package. */
const ESBUILD_RUNTIME = "<runtime>";
/**
 * Where the host gives @reflow/core the source map of a module it imports, by the module's URL:
 * `{ url, text }`, the map file's URL and its JSON, the same bytes Node reads from that file.
 */
const SOURCE_MAPS = Symbol.for("reflow.sourceMaps");
/** Bundles older than this are deleted after a load (a process between writing and importing one is far quicker). */
const PRUNE_AFTER_MS = 10 * 60 * 1000;
/** Text that means a module looks at where it is or loads modules at run time: the bundle would move or miss them. */
const LOCATION_DEPENDENT = /\bimport\.meta\b|\brequire\s*\(|\b__dirname\b|\b__filename\b|\bimport\s*\(/;

/**
 * An importer for the compiler (`@reflow/compiler`'s `PipelineImporter`):
 * `importAll(files, projectDir)` bundles and imports the files in order and
 * returns true, or returns false having run none of them (or, when a module
 * threw, with their declarations to be cleared by the caller).
 * `esbuild()` loads esbuild's API; `entries` maps each bundled reflow package's
 * source index URL to the CLI bundle's entry URL, so the pipelines share the
 * CLI's instances.
 */
export function pipelinesBundleImporter({ esbuild, entries, registerHooks }) {
  let early;
  return Object.freeze({
    /**
     * Starts building the bundle of the files the last load of `projectDir`
     * imported, before the compiler has found them: esbuild works on another
     * core while the CLI starts. `importAll` uses it only for the same files,
     * none of them (nor anything they import) touched since it started.
     * Returns whether any of those files changed since that load (true when
     * there is none to go by), so the caller can start what an edit needs.
     */
    startEarly(projectDir) {
      try {
        const last = JSON.parse(readFileSync(lastInputsFile(projectDir), "utf8"));
        const versions = fileVersions(last.watched);
        early = { projectDir, files: last.files, watched: last.watched, versions, built: buildBundle(esbuild, entries, last.files, projectDir).catch(() => undefined) };
        return { changed: !Array.isArray(last.versions) || !sameList(versions, last.versions) };
      } catch {
        // No load to go by (or one from another version of this file): built when asked.
        return { changed: true };
      }
    },
    async importAll(files, projectDir) {
      const built = (await earlyBuild(files, projectDir)) ?? (await buildBundle(esbuild, entries, files, projectDir).catch(() => undefined));
      if (!built) return false;
      const { file: bundle, otherPackages } = built;
      // Packages other than reflow's and the CommonJS four resolve, and load their own imports, as
      // under tsx only with its hooks in place (a package exporting TypeScript, one importing zod).
      if (otherPackages) await registerHooks();
      // Stack traces name the TypeScript positions: the compiler finds each declaration by them.
      process.setSourceMapsEnabled(true);
      const url = pathToFileURL(bundle).href;
      // @reflow/core maps the declarations' frames with the map in hand, as Node reads it from its file.
      const sourceMaps = (globalThis[SOURCE_MAPS] ??= new Map());
      sourceMaps.set(url, { url: pathToFileURL(built.map.file).href, text: built.map.text });
      try {
        await import(url);
      } catch {
        // Not kept: a bundle in the cache is one that loaded.
        sourceMaps.delete(url);
        rmSync(bundle, { force: true });
        return false;
      }
      prune(path.dirname(bundle), new Set([bundle, built.map.file]));
      rememberInputs(projectDir, files, built.watched);
      return true;
    },
    /** Stops esbuild after an early build nothing asked for (a command that failed before loading), so the process can exit. */
    async dispose() {
      const unused = early;
      if (!unused) return;
      early = undefined;
      // Stopped once it has finished: esbuild's process, stopped while it waits on this one (for a
      // plugin's answer), dies printing "fatal error: all goroutines are asleep - deadlock!".
      await unused.built;
      await esbuild().stop();
    },
  });

  async function earlyBuild(files, projectDir) {
    const started = early;
    early = undefined;
    if (!started || started.projectDir !== projectDir || !sameList(started.files, files)) return undefined;
    const built = await started.built;
    if (!built || !sameList(built.watched, started.watched)) return undefined;
    // Changed while esbuild read them (an editor saving): built again, as it is now.
    return sameList(fileVersions(started.watched), started.versions) ? built : undefined;
  }
}

/** Where the files of the last load are kept, for the next CLI's early build. */
function lastInputsFile(projectDir) {
  return path.join(projectDir, ".reflow", "cache", "pipelines-inputs.json");
}

/** The pipeline files imported, every file the bundle read from (and the tsconfig) and their versions now, once they changed. */
function rememberInputs(projectDir, files, watched) {
  const file = lastInputsFile(projectDir);
  try {
    const text = `${JSON.stringify({ files, watched, versions: fileVersions(watched) })}\n`;
    if (existsSync(file) && readFileSync(file, "utf8") === text) return;
    const scratch = `${file}.${process.pid}.tmp`;
    writeFileSync(scratch, text);
    renameSync(scratch, file);
  } catch {
    // Only a head start is lost.
  }
}

/** What changes when a file is written: its inode, size and change time (which no tool sets back). */
function fileVersions(files) {
  return files.map((file) => {
    const stat = statSync(file, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.ctimeNs}`;
  });
}

function sameList(a, b) {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

async function buildBundle(esbuild, entries, files, projectDir) {
  if (process.env.TSX_TSCONFIG_PATH) return undefined;
  const tsconfig = tsxTsconfig(process.cwd());
  if (tsconfig === null) return undefined;
  const outDir = path.join(projectDir, ".reflow", "cache", "pipelines");
  const names = `reflow|@reflow/[^/]+|${[...COMMONJS_PACKAGES].join("|")}`;
  const renamed = new RegExp(`^(?:#|(?:${names})(?:/|$))`);
  // The usual imports (`@reflow/core`, `zod`) are renamed by esbuild's aliases, without a round
  // trip to this process per import: a plugin's are answered only between the CLI's own work, and
  // held back the build that starts early. Each is checked below against the importer's folder.
  const aliases = importAliases(entries, projectDir);
  // Plugins cost a round trip to esbuild's process per call: only the rare imports no alias can
  // name (subpaths, `#imports`) go through one.
  const unaliased = new RegExp(`^(?:#|(?:${names})/)`);
  const resolutions = new Map();
  let refused = false;
  const result = await esbuild().build({
    stdin: { contents: files.map((file) => `import ${JSON.stringify(file)};`).join("\n"), resolveDir: projectDir, sourcefile: ENTRY, loader: "js" },
    outfile: path.join(outDir, "bundle.mjs"),
    // The metafile names inputs relative to this: otherwise to the folder esbuild's service started in.
    absWorkingDir: projectDir,
    write: false,
    bundle: true,
    // Other packages stay imports, resolved by Node from the bundle's folder (checked below to be the same).
    packages: "external",
    alias: aliases.alias,
    format: "esm",
    platform: "node",
    // As tsx compiles: for this Node, keeping function and class names.
    target: `node${process.versions.node}`,
    keepNames: true,
    // In a file of its own, linked from the bundle: Node reads it as it is, where an inline map is
    // decoded from base64 and its 0.5 MB scanned with the code for line lengths.
    sourcemap: "external",
    banner: { js: REQUIRE_PROXY_BANNER },
    sourcesContent: false,
    metafile: true,
    // Every file runs, as under tsx: no tree shaking by package.json "sideEffects" or /* @__PURE__ */.
    ignoreAnnotations: true,
    // A top-level await orders modules differently in one bundle than as separate modules: tsx then.
    supported: { "top-level-await": false },
    logLevel: "silent",
    ...(tsconfig ? { tsconfig } : { tsconfigRaw: "{}" }),
    plugins: [
      {
        name: "reflow-pipelines",
        setup(build) {
          build.onResolve({ filter: unaliased }, (args) => {
            const key = `${args.kind}\0${args.resolveDir}\0${args.path}`;
            if (!resolutions.has(key)) resolutions.set(key, renamedImport(args, entries));
            const resolution = resolutions.get(key);
            if (!resolution) refused = true;
            return resolution ?? { path: args.path, external: true };
          });
          build.onLoad({ filter: /./, namespace: REQUIRE_PROXY }, loadRequireProxy);
        },
      },
    ],
  });
  // Anything esbuild had to say (an import it ignored, say) is a difference from tsx.
  if (refused || result.warnings.length > 0) return undefined;
  const inputs = Object.entries(result.metafile.inputs).filter(
    ([input]) => input !== ENTRY && !input.startsWith(`${REQUIRE_PROXY}:`) && !aliases.proxies.has(path.resolve(projectDir, input)),
  );
  // An alias names what the import resolves to from the project folder: from each importer's folder too, or tsx then.
  for (const [input, { imports }] of inputs) {
    const importer = path.join(path.dirname(path.resolve(projectDir, input)), "noop.js");
    for (const i of imports) {
      const aliased = aliases.targets.get(i.external ? i.path : path.resolve(projectDir, i.path));
      if (aliased ? !aliases.resolvesAlike(aliased, importer) : i.external && renamed.test(i.path)) return undefined;
    }
  }
  // In a cycle of imports, one bundle reads `undefined` where modules throw (esbuild makes top-level `const` a `var`).
  if (hasCycle(inputs.map(([input, { imports }]) => [input, imports.filter((i) => !i.external && i.path in result.metafile.inputs).map((i) => i.path)]))) return undefined;
  const renamedUrls = new Set(Object.values(entries));
  let otherPackages = false;
  const dirs = new Set();
  for (const [input, { imports }] of inputs) {
    otherPackages ||= imports.some((i) => i.external && i.path !== ESBUILD_RUNTIME && !i.path.startsWith("node:") && !isBuiltin(i.path) && !renamedUrls.has(i.path));
    const file = path.resolve(projectDir, input);
    // Loaded at run time, or looking at where it is: the bundle would miss or move them.
    if (imports.some((i) => i.kind !== "import-statement")) return undefined;
    if (LOCATION_DEPENDENT.test(readFileSync(file, "utf8"))) return undefined;
    if (tsconfig && !isInside(file, path.dirname(tsconfig))) return undefined;
    dirs.add(path.dirname(file));
  }
  for (const dir of dirs) if (!sameNodeModules(dir, outDir)) return undefined;
  const output = result.outputFiles.find((file) => file.path.endsWith(".mjs"));
  const map = result.outputFiles.find((file) => file.path.endsWith(".mjs.map"));
  if (!output || !map) return undefined;
  mkdirSync(outDir, { recursive: true });
  // Both named by their content: the bundle's names its map.
  const mapFile = cacheFile(outDir, ".map", map.contents);
  const code = Buffer.concat([output.contents, Buffer.from(`//# sourceMappingURL=${path.basename(mapFile)}\n`)]);
  const file = cacheFile(outDir, ".mjs", code);
  const watched = inputs.map(([input]) => path.resolve(projectDir, input));
  if (tsconfig) watched.push(tsconfig);
  return { file, map: { file: mapFile, text: map.text }, otherPackages, watched };
}

/** `contents` in `dir`, in a file named by its hash: written unless there with these bytes. */
function cacheFile(dir, extension, contents) {
  const file = path.join(dir, `${createHash("sha256").update(contents).digest("hex").slice(0, 24)}${extension}`);
  let same = false;
  try {
    same = readFileSync(file).equals(contents);
  } catch {
    // Not there yet.
  }
  if (same) {
    // Used now: not to be pruned by another CLI before this one imports it.
    utimesSync(file, new Date(), new Date());
  } else {
    const scratch = `${file}.${process.pid}.tmp`;
    writeFileSync(scratch, contents);
    renameSync(scratch, file);
  }
  return file;
}

/**
 * esbuild's aliases for the imports the bundle renames, as they resolve from
 * the project folder: each reflow package to the CLI bundle's entry, each
 * CommonJS-build package to a proxy file (`requireProxyFile`). `targets` maps
 * each alias target to the package and the file it stands for;
 * `resolvesAlike(target, importer)` tells whether the package resolves to
 * that file from the importer's folder too.
 */
function importAliases(entries, projectDir) {
  const fromProject = path.join(projectDir, "noop.js");
  const alias = {};
  const targets = new Map();
  const proxies = new Set();
  for (const [source, entry] of Object.entries(entries)) {
    const file = fileURLToPath(source);
    const name = JSON.parse(readFileSync(path.join(path.dirname(file), "..", "package.json"), "utf8")).name;
    if (resolvedFile(name, fromProject) !== file) continue;
    alias[name] = entry;
    targets.set(entry, { name, file });
  }
  for (const name of COMMONJS_PACKAGES) {
    const file = resolvedFile(name, fromProject);
    if (file === undefined) continue;
    const proxy = requireProxyFile(file);
    alias[name] = proxy;
    targets.set(proxy, { name, file });
    proxies.add(proxy);
  }
  const checked = new Map();
  return {
    alias,
    targets,
    proxies,
    resolvesAlike(target, importer) {
      const key = `${target.name}\0${path.dirname(importer)}`;
      if (!checked.has(key)) checked.set(key, resolvedFile(target.name, importer) === target.file);
      return checked.get(key);
    },
  };
}

/** The file `require` finds for `specifier` from the file `importer` (reflow's packages export one file, for every condition); undefined for none. */
function resolvedFile(specifier, importer) {
  try {
    return createRequire(importer).resolve(specifier);
  } catch {
    return undefined;
  }
}

/**
 * The proxy module of a CommonJS file (`loadRequireProxy`), written once for
 * every project into reflow's node_modules/.cache, under a name that changes
 * when the file is written again (a reinstall): loading the package to list
 * its exports is paid only then.
 */
function requireProxyFile(file) {
  const key = createHash("sha256").update(`${file}\0${fileVersions([file])[0]}`).digest("hex").slice(0, 24);
  const dir = fileURLToPath(new URL("../../node_modules/.cache/reflow-require-proxies/", import.meta.url));
  const proxy = path.join(dir, `${key}.mjs`);
  if (!existsSync(proxy)) {
    mkdirSync(dir, { recursive: true });
    const scratch = `${proxy}.${process.pid}.tmp`;
    writeFileSync(scratch, loadRequireProxy({ path: file }).contents);
    renameSync(scratch, proxy);
  }
  return proxy;
}

/**
 * An import the bundle must name differently from its source: a reflow package
 * as the CLI bundle's entry (one instance of each), a CommonJS-build package
 * as the file the CommonJS-builds hook resolves for tsx. Undefined to refuse
 * the bundle: `#imports`, imports at run time, a reflow module the CLI bundle
 * has no entry for.
 */
function renamedImport(args, entries) {
  if (args.path.startsWith("#") || args.kind !== "import-statement") return undefined;
  let resolution;
  try {
    // As Node resolves a package for `require` (reflow's packages export one file, for every condition).
    resolution = requireProxyOf(args.path, path.join(args.resolveDir, "noop.js"));
  } catch {
    return undefined;
  }
  const name = packageName(args.path);
  if (name !== "reflow" && !name.startsWith("@reflow/")) return resolution;
  const entry = entries[pathToFileURL(resolution.path).href];
  return entry ? { path: entry, external: true } : undefined;
}

/**
 * The tsconfig tsx would apply, when it applies to every file alike: undefined
 * for none, null when the bundle cannot reproduce it (a tsconfig that includes
 * or excludes files, or extends another, which tsx applies per file).
 */
function tsxTsconfig(cwd) {
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "tsconfig.json");
    if (existsSync(file)) {
      try {
        const text = readFileSync(file, "utf8");
        return /"(include|files|exclude|extends)"\s*:/.test(text) ? null : file;
      } catch {
        return null;
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Whether a bare import resolves from `outDir` as from `dir`: Node looks in
 * node_modules of each folder upwards, so neither may have one below the
 * folder they share.
 */
function sameNodeModules(dir, outDir) {
  const below = (start, shared) => {
    const list = [];
    for (let d = start; !shared.has(d) && path.dirname(d) !== d; d = path.dirname(d)) list.push(d);
    return list;
  };
  const ancestors = new Set();
  for (let d = outDir; ; d = path.dirname(d)) {
    ancestors.add(d);
    if (path.dirname(d) === d) break;
  }
  const fromDir = below(dir, ancestors);
  const common = fromDir.length === 0 ? dir : path.dirname(fromDir.at(-1));
  const fromOut = below(outDir, new Set([common]));
  return ![...fromDir, ...fromOut].some((d) => existsSync(path.join(d, "node_modules")));
}

/**
 * Whether the imports (`[module, modules it imports]`) hold a cycle, a module importing itself
 * included. A depth-first walk, without recursion; graphlib's took ~50 ms for 200 modules.
 */
function hasCycle(modules) {
  const importsOf = new Map(modules);
  // 1 while a module's imports are being walked, 2 once done.
  const state = new Map();
  for (const [root] of modules) {
    if (state.has(root)) continue;
    state.set(root, 1);
    const stack = [{ module: root, next: 0 }];
    while (stack.length > 0) {
      const frame = stack.at(-1);
      const imported = importsOf.get(frame.module) ?? [];
      if (frame.next === imported.length) {
        state.set(frame.module, 2);
        stack.pop();
        continue;
      }
      const next = imported[frame.next++];
      if (state.get(next) === 1) return true;
      if (state.has(next)) continue;
      state.set(next, 1);
      stack.push({ module: next, next: 0 });
    }
  }
  return false;
}

function isInside(file, dir) {
  const relative = path.relative(dir, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

function prune(dir, current) {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (current.has(file)) continue;
    try {
      if (Date.now() - statSync(file).mtimeMs > PRUNE_AFTER_MS) rmSync(file, { force: true });
    } catch {
      // Pruned by another process.
    }
  }
}
