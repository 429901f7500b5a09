// The CommonJS builds the CLI bundle requires at every start (zod's ~95 files, csv-parse, diff,
// better-sqlite3's JavaScript), loaded before it with each of their files compiled from V8's code
// cache: compiling is most of requiring them (zod: ~100 ms cold on a busy machine, ~55 ms from the
// cache). They are the same modules in Node's module cache that the bundles' `require` then finds
// (one zod for the CLI and the pipelines). Node 20 has no `module.enableCompileCache`.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import { deserialize, serialize } from "node:v8";
import vm from "node:vm";
import { createHash } from "node:crypto";

const NOTHING_TO_SAVE = Object.freeze({ save: () => {} });

/**
 * Requires each file (a package's entry, by absolute path) with every file of its package compiled
 * from the code cache saved in `node_modules/.cache/reflow-code-cache/` (or `cacheDir`) when its
 * device, inode, size and times are those it was saved for; V8 itself rejects data made for another
 * V8 or other flags, and compiles the source as usual. `save()`, once the command has run (so the
 * cache holds the functions it compiled lazily too), writes the caches that were missing or rejected.
 * Anything unexpected leaves the loading to the bundle's own `require`.
 */
export function requireWithCodeCache(files, { cacheDir } = {}) {
  const unsaved = [];
  for (const file of files) {
    try {
      if (Module._cache[file]) continue;
      const save = requirePackage(file, cacheDir ?? path.join(nodeModulesOf(file), ".cache", "reflow-code-cache"));
      if (save) unsaved.push(save);
    } catch {
      // Required by the bundle as usual (an error there is reported as it would be without this).
    }
  }
  return unsaved.length === 0 ? NOTHING_TO_SAVE : Object.freeze({ save: () => unsaved.forEach((save) => save()) });
}

/** Requires the package entry `file`; returns how to save its cache when any of its files compiled without one. */
function requirePackage(file, cacheDir) {
  const packageDir = packageDirOf(file);
  const key = createHash("sha256").update(`${process.version}\0${process.arch}\0${file}`).digest("hex").slice(0, 24);
  const cacheFile = path.join(cacheDir, `${path.basename(packageDir)}-${key}.bin`);
  const saved = readCodeCache(cacheFile);
  const compiled = new Map();
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename, ...rest) {
    if (!filename.startsWith(packageDir + path.sep)) return compile.call(this, content, filename, ...rest);
    return runWithCodeCache(this, content, filename, saved, compiled);
  };
  try {
    createRequire(file)(file);
  } finally {
    Module.prototype._compile = compile;
  }
  if ([...compiled.values()].every(({ script, cached }) => cached && !script.cachedDataRejected)) return undefined;
  return () => {
    try {
      const files = [...compiled].map(([filename, { stamp, script }]) => [filename, stamp, script.createCachedData()]);
      mkdirSync(cacheDir, { recursive: true });
      const scratch = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(scratch, serialize(files));
      renameSync(scratch, cacheFile);
    } catch {
      // Only the next start's speed is lost.
    }
  };
}

/** What Module.prototype._compile does for a CommonJS file, compiled with `vm.Script` from its cached data when that is for this file as it is. */
function runWithCodeCache(module, content, filename, saved, compiled) {
  const stat = statSync(filename);
  const stamp = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  const entry = saved.get(filename);
  const cachedData = entry?.stamp === stamp ? entry.data : undefined;
  const script = new vm.Script(Module.wrap(content), { filename, ...(cachedData ? { cachedData } : {}) });
  compiled.set(filename, { stamp, script, cached: cachedData !== undefined });
  // As Node's makeRequireFunction makes it: the module stays the parent of what it requires.
  const require = (id) => module.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return script.runInThisContext().call(module.exports, module.exports, require, module, filename, path.dirname(filename));
}

/** The saved cache by file, empty when there is none or it cannot be read (then it is only slower). */
function readCodeCache(cacheFile) {
  try {
    return new Map(deserialize(readFileSync(cacheFile)).map(([filename, stamp, data]) => [filename, { stamp, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) }]));
  } catch {
    return new Map();
  }
}

/** `…/node_modules/name` or `…/node_modules/@scope/name` of a file in an installed package. */
function packageDirOf(file) {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf("node_modules");
  if (at < 0) throw new Error(`${file} is not in an installed package`);
  return parts.slice(0, at + (parts[at + 1]?.startsWith("@") ? 3 : 2)).join(path.sep);
}

function nodeModulesOf(file) {
  const parts = file.split(path.sep);
  return parts.slice(0, parts.lastIndexOf("node_modules") + 1).join(path.sep);
}
