import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { glob } from "tinyglobby";
import { clearDeclarations, declaredDatasets, displayPath, isReflowError, ReflowError, stackFrames, type DatasetDeclaration, type StackFrame } from "@reflow/core";
import { pipelineImporter } from "./pipeline-importer.js";
import type { ProjectConfig } from "./project-config.js";

export interface LoadedPipelines {
  readonly files: readonly string[];
  readonly declarations: readonly DatasetDeclaration[];
}

/** Finds the pipeline modules of a project and imports them, collecting every declaration they make. */
export async function loadPipelines(config: ProjectConfig, options: { readonly onFiles?: (files: readonly string[]) => void } = {}): Promise<LoadedPipelines> {
  const files = (await glob([...config.pipelines], { cwd: config.projectDir, absolute: true, onlyFiles: true })).sort();
  if (files.length === 0) {
    throw new ReflowError(
      "REFLOW_NO_PIPELINES",
      `no pipeline modules match ${config.pipelines.map((p) => JSON.stringify(p)).join(", ")} in ${displayPath(config.projectDir)}${config.configFile ? ` (set by ${displayPath(config.configFile)})` : ""}`,
    );
  }
  for (const file of files) requireEsm(file);
  // Before importing: what the caller can do meanwhile (start analysing changed files on another core).
  options.onFiles?.(files);
  const contents = files.map((file) => `${file}\0${createHash("sha256").update(readFileSync(file)).digest("hex")}`);
  const loaded = loadedPipelines();
  const again = loaded.loads.get(contents.join("\n"));
  if (again) return { files, declarations: again };
  const reloaded = files.find((file) => loaded.files.has(file));
  if (reloaded) {
    throw new ReflowError(
      "REFLOW_MODULE_LOAD_FAILED",
      `${displayPath(reloaded)} was already loaded by this process, by a load that failed or saw other files or contents: ES modules cannot be loaded again, so compile the project in a new process`,
      { location: { file: reloaded, line: 1 } },
    );
  }
  clearDeclarations();
  const importer = pipelineImporter();
  if (!(importer && (await importer.importAll(files, config.projectDir)))) {
    clearDeclarations();
    await importer?.beforeImports();
    for (const file of files) {
      loaded.files.add(file);
      try {
        await import(pathToFileURL(file).href);
      } catch (error) {
        if (isReflowError(error)) throw error;
        throw moduleLoadError(file, error);
      }
    }
  }
  const declarations = declaredDatasets();
  clearDeclarations();
  loaded.loads.set(contents.join("\n"), declarations);
  return { files, declarations };
}

interface LoadedPipelineModules {
  /** Every pipeline module this process imported. */
  readonly files: Set<string>;
  /** The declarations of each load, by its files and their contents. */
  readonly loads: Map<string, readonly DatasetDeclaration[]>;
}

const LOADED = Symbol.for("reflow.loadedPipelines");

/**
 * Imported modules stay cached for the life of the process and an import of a
 * loaded one does not run it again, so its declarations would not register
 * again: a second compile of a project in one process (the programmatic API)
 * would see no datasets and plan to forget them all. Unchanged modules give
 * the declarations of their first load; changed ones cannot be loaded again.
 */
function loadedPipelines(): LoadedPipelineModules {
  const holder = globalThis as unknown as Record<symbol, LoadedPipelineModules | undefined>;
  return (holder[LOADED] ??= { files: new Set(), loads: new Map() });
}

/**
 * Pipeline modules must load as ES modules: as CommonJS, tsx evaluates them
 * without source maps, and reflow could not tell where a dataset is declared.
 */
function requireEsm(file: string): void {
  if (/\.m[tj]s$/.test(file)) return;
  let dir = path.dirname(file);
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      const type = (JSON.parse(readFileSync(manifest, "utf8")) as { type?: string }).type;
      if (type === "module") return;
      throw new ReflowError(
        "REFLOW_MODULE_LOAD_FAILED",
        `${displayPath(file)}: pipeline modules must be ES modules, but ${displayPath(manifest)} has "type": ${JSON.stringify(type ?? "commonjs")}: set "type": "module" in it`,
        { location: { file, line: 1 } },
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new ReflowError(
    "REFLOW_MODULE_LOAD_FAILED",
    `${displayPath(file)}: pipeline modules must be ES modules, and no package.json says so: create ${displayPath(path.join(path.dirname(file), "..", "package.json"))} with { "type": "module" }`,
    { location: { file, line: 1 } },
  );
}

function moduleLoadError(file: string, error: unknown): ReflowError {
  const location = locateInStack(error, file);
  const where = location ? `${displayPath(location.file)}:${location.line}:${location.column}` : displayPath(file);
  const syntax = syntaxErrors(error);
  const message = syntax.length > 0 ? `syntax error: ${syntax.join("; ")}` : `failed to load pipeline module: ${error instanceof Error ? error.message : String(error)}`;
  return new ReflowError("REFLOW_MODULE_LOAD_FAILED", `${where}: ${message}`, {
    cause: error,
    ...(location ? { location } : { location: { file, line: 1 } }),
  });
}

/** esbuild (via tsx) reports "Transform failed with N errors:" then one "file:line:col: ERROR: text" line each. */
function syntaxErrors(error: unknown): string[] {
  const message = error instanceof Error ? error.message : "";
  return [...message.matchAll(/^.*\.[cm]?tsx?:\d+:\d+: ERROR: (.*)$/gm)].map((m) => m[1]!);
}

/** The first stack frame inside the project's code, preferring the module being loaded. */
function locateInStack(error: unknown, file: string): StackFrame | undefined {
  const esbuild = /^(.*\.[cm]?tsx?):(\d+):(\d+): ERROR: /m.exec(error instanceof Error ? error.message : "");
  if (esbuild) return { file: esbuild[1]!.startsWith("/") ? esbuild[1]! : file, line: Number(esbuild[2]), column: Number(esbuild[3]) + 1 };
  const frames = stackFrames(error);
  return frames.find((f) => f.file === file) ?? frames.find((f) => !f.file.includes("/node_modules/") && !f.file.startsWith("/modules/"));
}
