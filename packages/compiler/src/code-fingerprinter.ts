import fs from "node:fs";
import path from "node:path";
import { ReflowError } from "@reflow/core";
import { prefetchAnalysis } from "./fingerprint/analysis-worker.js";
import { collectClosure, type ClosureEnvironment } from "./fingerprint/code-closure.js";
import { createFileAnalyzer, type SourceText } from "./fingerprint/file-analyzer.js";
import type { CallSite, CodeUnit, Declaration, FileSummary, Position, Statement } from "./fingerprint/file-summary.js";
import { tsMorphVersion } from "./fingerprint/load-ts-morph.js";
import { locateCallSite } from "./fingerprint/locate-call-site.js";
import { packageVersion } from "./fingerprint/package-version.js";
import { resolveModule, SCRIPT_EXTENSIONS, type ModuleTarget } from "./fingerprint/resolve-module.js";
import { readSummaryCache, writeSummaryCache } from "./fingerprint/summary-cache.js";
import { sha256 } from "./sha256.js";

/** A declaration whose code to fingerprint, as the runtime saw it. */
export interface FingerprintTarget {
  /** The dataset name; the key of the result. */
  readonly name: string;
  /** Absolute path of the file containing the dataset()/source() call. */
  readonly file: string;
  /** 1-based line of the call. */
  readonly line: number;
  /** 1-based column of the call; source maps may leave it a little off. */
  readonly column?: number;
  /** The options property holding the code: "transform" or "read". */
  readonly property: string;
  /**
   * The frames of user code under the call at run time, innermost first (the
   * call itself first). When the call is inside a function, the frames say
   * which factory made the dataset and from which call.
   */
  readonly callStack?: readonly { readonly file: string; readonly line: number; readonly column?: number }[];
}

/** A project-local top-level declaration a fingerprint covers; `file` is relative to the project, with / separators. */
export interface ReferencedDeclaration {
  readonly file: string;
  readonly name: string;
  readonly line: number;
}

export interface CodeFingerprint {
  /** Hex sha256 of the code and everything it uses. */
  readonly hash: string;
  /** The project-local top-level declarations in the closure, by file then name. */
  readonly declarations: readonly ReferencedDeclaration[];
  /** npm packages referenced from the closure, by name. */
  readonly packages: readonly { readonly name: string; readonly version: string }[];
  /** Hash of the transform's own canonical code. */
  readonly unitHash: string;
  /** Hash of everything but the unit itself (declarations, builtins, packages): what a SQL transform adds to its SQL text. */
  readonly closureHash: string;
  /** 1-based line of the property holding the code (`sql:`, `transform:`). */
  readonly line: number;
  /** Hash of each declaration in `declarations`, by `file#name`: to tell which one changed. */
  readonly declarationHashes: Readonly<Record<string, string>>;
  /** Identifiers and literal texts of the code and its closure (not part of the hash): which row fields it may read. */
  readonly words: ReadonlySet<string>;
  /** `process.env` reads in the code and its closure ("*": a computed name), by file and line. */
  readonly env: readonly EnvReadAt[];
  /** The printed source of the transform and of each declaration, by hash: what a plan diff shows. */
  readonly sources: Readonly<Record<string, string>>;
}

export interface EnvReadAt {
  /** Project-relative, with / separators. */
  readonly file: string;
  readonly line: number;
  readonly name: string;
}

export interface FingerprinterStats {
  /** Files parsed so far (not taken from the cache), relative to the project, in order. */
  readonly analysedFiles: readonly string[];
}

export interface CodeFingerprinter {
  /**
   * Starts analysing, in a worker thread where the host provides one, those of
   * `files` that the cache does not hold as they are now; resolves once their
   * summaries are in hand (or the worker gave none). `fingerprint` uses them
   * as if it had analysed the files itself.
   */
  prefetch(files: readonly string[], signal?: AbortSignal): Promise<void>;
  fingerprint(targets: readonly FingerprintTarget[]): ReadonlyMap<string, CodeFingerprint>;
  /** What the fingerprinter had to analyse: the measure of how well the cache works. */
  stats(): FingerprinterStats;
}

/** Part of every cache entry's validity: bump it when summaries or canonical forms change. */
// 2: call sites also record a file source's `path`; 3: code units record their words; 4: `sql` is a code property;
// 5: units record env reads, printed sources and enclosed bindings; call sites their root calls.
const ANALYZER_VERSION = `5 ts-morph@${tsMorphVersion()}`;

/**
 * Fingerprints the code of dataset declarations: the `transform` (or `read`)
 * of each, plus every project-local top-level declaration it uses, across
 * files, plus the versions of the npm packages they import. Comments,
 * formatting and names of local bindings do not count; code the transform does
 * not reach does not count either.
 */
export function createCodeFingerprinter(options: { readonly projectDir: string; readonly cacheFile?: string }): CodeFingerprinter {
  const projectDir = path.resolve(options.projectDir);
  const cacheFile = options.cacheFile === undefined ? undefined : path.resolve(options.cacheFile);
  const summaries = cacheFile === undefined ? new Map<string, FileSummary>() : readSummaryCache(cacheFile, ANALYZER_VERSION);
  const analyzer = createFileAnalyzer();
  const analysedFiles: string[] = [];
  // Summaries a worker made of changed files; used only while a file's content still matches.
  let prefetched: ReadonlyMap<string, FileSummary> = new Map();

  async function prefetch(files: readonly string[], signal?: AbortSignal): Promise<void> {
    const stale = files.filter((file) => {
      try {
        return summaries.get(file)?.contentHash !== sha256(fs.readFileSync(file, "utf8"));
      } catch {
        return false;
      }
    });
    prefetched = await prefetchAnalysis(stale, signal);
  }
  const relative = (file: string): string => path.relative(projectDir, file).split(path.sep).join("/");

  function fingerprint(targets: readonly FingerprintTarget[]): ReadonlyMap<string, CodeFingerprint> {
    // Summaries checked against the files' current content during this call.
    const current = new Map<string, FileSummary>();
    let cacheChanged = false;
    const resolve = memoize(resolveModule, (from, specifier) => `${path.dirname(from)}\0${specifier}`);
    const version = memoize(packageVersion, (from, name) => `${path.dirname(from)}\0${name}`);

    // Loads summaries from the cache or, for changed files, by analysing them
    // in batches together with the project files they import.
    const load = (files: readonly string[]): void => {
      let wave = [...new Set(files)].filter((file) => !current.has(file));
      while (wave.length > 0) {
        const stale: SourceText[] = [];
        for (const file of wave) {
          const text = readSource(file);
          const contentHash = sha256(text);
          const cached = summaries.get(file);
          if (cached?.contentHash === contentHash) current.set(file, cached);
          else stale.push({ file, text, contentHash });
        }
        const fromWorker = (source: SourceText) => {
          const summary = prefetched.get(source.file);
          return summary?.contentHash === source.contentHash ? summary : undefined;
        };
        const rest = stale.filter((source) => !fromWorker(source));
        const analysedHere = analyzer.analyse(rest);
        const analysed = stale.map((source) => fromWorker(source) ?? analysedHere[rest.indexOf(source)]);
        const next = new Set<string>();
        stale.forEach((source, index) => {
          const summary = analysed[index]!;
          summaries.set(source.file, summary);
          current.set(source.file, summary);
          analysedFiles.push(relative(source.file));
          cacheChanged = true;
          for (const dependency of localDependencies(source.file, summary, resolve)) if (!current.has(dependency)) next.add(dependency);
        });
        wave = [...next];
      }
    };
    const summaryOf = (file: string): FileSummary => {
      if (!current.has(file)) load([file]);
      const summary = current.get(file)!;
      if (summary.syntaxError) {
        const { line, column, message } = summary.syntaxError;
        throw new ReflowError("REFLOW_FINGERPRINT_FAILED", `${relative(file)}:${line}:${column}: cannot fingerprint code with a syntax error: ${message}`, {
          location: { file, line, column },
        });
      }
      return summary;
    };
    const readSource = (file: string): string => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch (error) {
        throw new ReflowError("REFLOW_FINGERPRINT_FAILED", `${relative(file)}: cannot read the file to fingerprint its code: ${(error as Error).message}`, {
          cause: error,
        });
      }
    };

    // A declaration made inside a function: the statements its frames are in (the
    // factory and its callers) and the top-level call that started it all.
    const factoryParts = (site: CallSite, target: FingerprintTarget): FactoryParts => {
      if (!site.insideFunction || !target.callStack) return { parts: [], coversCall: false };
      const parts = new Map<string, { file: string; declaration: Declaration }>();
      // Named without lines, so that moving code does not change fingerprints; unnamed statements by their order here.
      const add = (file: string, part: Declaration): void => {
        let name = part.name;
        for (let n = 2; parts.has(`${file}#${name}`) && parts.get(`${file}#${name}`)!.declaration.hash !== part.hash; n++) name = `${part.name} ${n}`;
        parts.set(`${file}#${name}`, { file, declaration: { ...part, name } });
      };
      let coversCall = false;
      for (const [index, frame] of target.callStack.entries()) {
        const file = path.resolve(frame.file);
        if (!isProjectScript(file)) continue;
        const summary = summaryOf(file);
        const position = { line: frame.line, column: frame.column ?? 0 };
        const root = summary.rootCalls.find((call) => contains(call, position));
        if (root) {
          // A call in a loop, or whose arguments are loop variables, is told apart only by its whole statement.
          add(file, root.open ? statementPart(summary, summary.statements[root.statement]!) : { ...root, name: callName(root.source), line: root.start.line });
          coversCall ||= index === 0;
          break;
        }
        const statement = summary.statements.find((candidate) => contains(candidate, position));
        if (statement) add(file, statementPart(summary, statement));
        coversCall ||= index === 0 && statement !== undefined;
      }
      return { parts: [...parts.values()], coversCall };
    };
    const isProjectScript = (file: string): boolean =>
      file.startsWith(projectDir + path.sep) &&
      !file.includes(`${path.sep}node_modules${path.sep}`) &&
      SCRIPT_EXTENSIONS.includes(path.extname(file)) &&
      fs.existsSync(file);

    const files = targets.map((target) => path.resolve(target.file));
    load(files);
    const located = targets.map((target, index) => {
      const file = files[index]!;
      const site = locateCallSite(summaryOf(file).callSites, target);
      if (!site) {
        throw new ReflowError(
          "REFLOW_FINGERPRINT_FAILED",
          `${relative(file)}:${target.line}: dataset "${target.name}": could not find the ${target.property} of this declaration in the source`,
          { location: { file, line: target.line, ...(target.column ? { column: target.column } : {}) }, subject: target.name },
        );
      }
      return {
        name: target.name,
        file,
        unit: site.properties[target.property]!,
        line: site.propertyLines[target.property] ?? site.line,
        containers: site.containers,
        factory: factoryParts(site, target),
      };
    });
    // Declarations that hold a dataset are fingerprinted on their own: others count them by name only.
    const opaque = new Set(located.flatMap(({ file, containers }) => containers.map((name) => `${file}#${name}`)));
    const env: ClosureEnvironment = { summaryOf, resolve, packageVersion: version, relative, opaque };
    const result = new Map(located.map(({ name, file, unit, line, factory }) => [name, codeFingerprint(file, unit, line, env, factory)]));
    if (cacheChanged && cacheFile !== undefined) writeSummaryCache(cacheFile, ANALYZER_VERSION, summaries);
    return result;
  }

  return { prefetch, fingerprint, stats: () => ({ analysedFiles: [...analysedFiles] }) };
}

/** What a factory-made declaration is fingerprinted with besides its own code. */
interface FactoryParts {
  readonly parts: readonly { readonly file: string; readonly declaration: Declaration }[];
  /** A part holds the declaration's own call: its code is counted there, factory parameters numbered like any local. */
  readonly coversCall: boolean;
}

function codeFingerprint(file: string, unit: CodeUnit, line: number, env: ClosureEnvironment, factory: FactoryParts): CodeFingerprint {
  const closure = collectClosure(file, unit, env, factory.parts);
  const declarations = closure.declarations
    .map(({ file, declaration }) => ({ file: env.relative(file), name: declaration.name, line: declaration.line, hash: declaration.hash }))
    .sort((a, b) => compare(a.file, b.file) || compare(a.name, b.name));
  const reads = new Map<string, EnvReadAt>();
  for (const { file: from, unit: code } of [{ file, unit }, ...closure.declarations.map((d) => ({ file: d.file, unit: d.declaration }))]) {
    for (const read of code.env ?? []) reads.set(`${from}:${read.line}:${read.name}`, { file: env.relative(from), line: read.line, name: read.name });
  }
  const sources: Record<string, string> = {};
  for (const code of [unit, ...closure.declarations.map((d) => d.declaration)]) if (code.source !== undefined) sources[code.hash] = code.source;
  const packages = [...closure.packages.values()].sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version));
  const closureMaterial = [
    ...declarations.map((d) => `${d.file}#${d.name}:${d.hash}`),
    ...[...closure.tokens].sort(compare),
    ...packages.map((p) => `${p.name}@${p.version}`),
  ];
  return Object.freeze({
    // Alone, the transform names the factory's parameters it uses as text; the part holding it does not.
    hash: sha256([factory.coversCall ? "code:in-factory" : `code:${unit.hash}`, ...closureMaterial].join("\n")),
    closureHash: sha256(closureMaterial.join("\n")),
    line,
    declarations: Object.freeze(declarations.map(({ file, name, line }) => Object.freeze({ file, name, line }))),
    packages: Object.freeze(packages.map(({ name, version }) => Object.freeze({ name, version }))),
    unitHash: unit.hash,
    declarationHashes: Object.freeze(Object.fromEntries(declarations.map((d) => [`${d.file}#${d.name}`, d.hash]))),
    words: closure.words,
    env: Object.freeze([...reads.values()].sort((a, b) => compare(a.file, b.file) || a.line - b.line || compare(a.name, b.name))),
    sources: Object.freeze(sources),
  });
}

/** A top-level statement as a declaration of the closure: by its declared name, or as "statement". */
function statementPart(summary: FileSummary, statement: Statement): Declaration {
  const unit = "declaration" in statement ? summary.declarations.find((declaration) => declaration.name === statement.declaration)! : statement;
  return { hash: unit.hash, references: unit.references, words: unit.words, ...envAndSource(unit), name: statement.name ?? "statement", line: statement.start.line };
}

function envAndSource({ env, source }: CodeUnit): Pick<CodeUnit, "env" | "source"> {
  return { ...(env ? { env } : {}), ...(source !== undefined ? { source } : {}) };
}

/** `makeRegional(…)` for `makeRegional("eu", 0.2)`; "call" when the callee is not a plain name. */
function callName(source: string | undefined): string {
  const callee = source?.slice(0, source.indexOf("("));
  return callee && /^[\w$.]{1,60}$/.test(callee) ? `${callee}(…)` : "call";
}

// Frames are where a call's name starts; source maps may shift columns, so only boundary lines compare them.
function contains(range: { readonly start: Position; readonly end: Position }, position: Position): boolean {
  const after = position.line > range.start.line || (position.line === range.start.line && position.column >= range.start.column);
  const before = position.line < range.end.line || (position.line === range.end.line && position.column <= range.end.column);
  return after && before;
}

/** Project files a summary imports or re-exports from: analysed in the same batch when they need analysis. */
function localDependencies(file: string, summary: FileSummary, resolve: (from: string, specifier: string) => ModuleTarget): string[] {
  const specifiers = [
    ...summary.imports.map((binding) => binding.specifier),
    ...summary.exports.flatMap((binding) => ("specifier" in binding ? [binding.specifier] : [])),
    ...summary.starExports,
  ];
  return specifiers.flatMap((specifier) => {
    const target = resolve(file, specifier);
    return target.kind === "file" ? [target.file] : [];
  });
}

function memoize<R>(compute: (a: string, b: string) => R, keyOf: (a: string, b: string) => string): (a: string, b: string) => R {
  const results = new Map<string, R>();
  return (a, b) => {
    const key = keyOf(a, b);
    if (!results.has(key)) results.set(key, compute(a, b));
    return results.get(key)!;
  };
}

// Code-point order, the same on every machine whatever its locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
