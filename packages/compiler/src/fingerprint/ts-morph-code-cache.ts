import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { readTextFile } from "../read-text-file.js";
import { sha256 } from "../sha256.js";

/** What `preloadTsMorph` leaves to do once ts-morph has run: store the code V8 compiled. */
export interface TsMorphCodeCache {
  /** Writes V8's code cache of each file that was not loaded from a valid one. */
  save(): void;
}

const NOTHING_TO_SAVE: TsMorphCodeCache = Object.freeze({ save: () => {} });

/**
 * Loads ts-morph — its 1 MB, @ts-morph/common's 3 MB and the 9 MB TypeScript
 * compiler it bundles — into the module cache, where `require("ts-morph")`
 * then finds them, each compiled from V8's code cache when one was saved:
 * compiling them is most of the ~0.2 s (0.6 s on a busy machine) that loading
 * ts-morph costs, which a warm plan pays for one edited file. The caches sit in
 * `node_modules/.cache/reflow-code-cache/`, named after Node's version and each
 * file's path, size and time; V8 itself rejects data that does not match the
 * source and its flags, and the file is then compiled as usual. Anything
 * unexpected leaves the loading to `require`.
 */
export function preloadTsMorph(requireFrom: NodeJS.Require, options: { readonly cacheDir?: string } = {}): TsMorphCodeCache {
  let files: string[];
  try {
    const tsMorph = requireFrom.resolve("ts-morph");
    const common = requireFrom.resolve("@ts-morph/common", { paths: [path.dirname(tsMorph)] });
    // In the order they require each other: each finds the one before it cached.
    files = [path.join(path.dirname(common), "typescript.js"), common, tsMorph];
  } catch {
    return NOTHING_TO_SAVE;
  }
  if (files.some((file) => requireFrom.cache[file] || !existsSync(file))) return NOTHING_TO_SAVE;
  const cacheDir = options.cacheDir ?? path.join(nodeModulesOf(files[0]!), ".cache", "reflow-code-cache");
  const unsaved = files.map((file) => loadWithCodeCache(requireFrom, file, cacheDir)).filter((save) => save !== undefined);
  return unsaved.length === 0 ? NOTHING_TO_SAVE : Object.freeze({ save: () => unsaved.forEach((save) => save()) });
}

/** Loads one CommonJS file into the module cache from its code cache; returns how to save one when there was none to use. */
function loadWithCodeCache(requireFrom: NodeJS.Require, file: string, cacheDir: string): (() => void) | undefined {
  const stat = statSync(file);
  const key = sha256(`${process.version}\0${process.arch}\0${file}\0${stat.size}\0${stat.mtimeMs}`).slice(0, 24);
  const cacheFile = path.join(cacheDir, `${path.basename(file, ".js")}-${key}.bin`);
  const cachedData = readCodeCache(cacheFile);
  const script = new vm.Script(Module.wrap(readTextFile(file)), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const loaded = new Module(file);
  loaded.filename = file;
  loaded.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(file));
  requireFrom.cache[file] = loaded;
  try {
    (script.runInThisContext() as (...args: unknown[]) => void).call(loaded.exports, loaded.exports, createRequire(file), loaded, file, path.dirname(file));
    loaded.loaded = true;
  } catch (error) {
    delete requireFrom.cache[file];
    throw error;
  }
  if (cachedData && !script.cachedDataRejected) return undefined;
  // Called after the code has run, so the cache holds the functions it compiled lazily too.
  return () => {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const scratch = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(scratch, script.createCachedData());
      renameSync(scratch, cacheFile);
    } catch {
      // Only the next start's speed is lost.
    }
  };
}

/** The saved cache, or undefined when there is none (or it cannot be read: then it is only slower). */
function readCodeCache(cacheFile: string): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

function nodeModulesOf(file: string): string {
  const parts = file.split(path.sep);
  return parts.slice(0, parts.lastIndexOf("node_modules") + 1).join(path.sep);
}
