import { findSourceMap } from "node:module";
import { fileURLToPath } from "node:url";
import { parseSourceMap, readInlineSourceMap, type InlineSourceMap, type SourceMapEntry } from "./inline-source-map.js";
import type { SourceLocation } from "./reflow-error.js";

const CORE_DIR = fileURLToPath(new URL(".", import.meta.url));
// `at fn (file:///a/b.ts?tsx-namespace=1:12:3)`, `at /a/b.ts:12:3`: path, optional query, line, column.
const FRAME = /(file:\/\/[^\s():?]+|\/[^\s():?]+)(?:\?[^\s():]*)?:(\d+):(\d+)/g;

export interface StackFrame {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * The file positions in an error's stack, top first. Source maps (enabled by
 * tsx and vitest) make them TypeScript positions.
 */
export function stackFrames(error: unknown): StackFrame[] {
  const stack = error instanceof Error ? (error.stack ?? "") : typeof error === "string" ? error : "";
  return [...stack.matchAll(FRAME)].map((m) => ({
    file: m[1]!.startsWith("file:") ? fileURLToPath(m[1]!) : m[1]!,
    line: Number(m[2]),
    column: Number(m[3]),
  }));
}

/**
 * The first stack frame outside @reflow/core: the line of user code that
 * called `dataset()` or `source()`. The compiler uses it to find the
 * declaration in the AST, and errors use it to name file and line.
 */
export function callerLocation(): SourceLocation | undefined {
  return callerStack()[0];
}

/**
 * Every frame of user code under the `dataset()` / `source()` call, innermost
 * first: for a dataset made by a factory, the factory's callers down to the
 * module's top level. The compiler fingerprints the factory and the call that made the dataset.
 */
export function callerStack(): StackFrame[] {
  const sites = callSites(callerStack);
  const frames = sites ? sourceFrames(sites) : stackFrames(new Error().stack ?? "").slice(1);
  return frames.filter((frame) => !frame.file.startsWith(CORE_DIR) && !frame.file.includes("/node_modules/"));
}

/**
 * The call sites under `below`, when Node formats stack traces (the CLI;
 * vitest and source-map-support install their own formatter, and get the
 * text path): formatting the whole stack, through source maps, for each of a
 * project's thousand declarations is a fifth of loading it.
 */
function callSites(below: (...args: never[]) => unknown): NodeJS.CallSite[] | undefined {
  const error = Error as { prepareStackTrace?: (error: Error, sites: NodeJS.CallSite[]) => unknown };
  const formatter = error.prepareStackTrace;
  // Node's own formatter is public since Node 20, under this name.
  if (formatter !== undefined && formatter.name !== "ErrorPrepareStackTrace") return undefined;
  const own = Object.hasOwn(Error, "prepareStackTrace");
  const holder: { stack?: unknown } = {};
  error.prepareStackTrace = (_error, sites) => sites;
  try {
    Error.captureStackTrace(holder, below);
    return Array.isArray(holder.stack) ? (holder.stack as NodeJS.CallSite[]) : undefined;
  } finally {
    if (own) error.prepareStackTrace = formatter;
    else delete error.prepareStackTrace;
  }
}

/**
 * The positions Node prints for these sites (its source-mapped stack
 * traces: the original source, line and column, 1-based), leaving out
 * Node's own frames and, unmapped, those of installed packages.
 */
function sourceFrames(sites: readonly NodeJS.CallSite[]): StackFrame[] {
  const frames: StackFrame[] = [];
  for (const site of sites) {
    const name = site.getFileName();
    if (!name || !(name.startsWith("file:") || name.startsWith("/"))) continue;
    const file = pathOf(name);
    if (file.includes("/node_modules/")) continue;
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (line === null || column === null) continue;
    const entry = sourceMapOf(site, name)?.findEntry(line - 1, column - 1);
    if (entry && "originalSource" in entry && entry.originalSource) {
      frames.push({ file: pathOf(entry.originalSource), line: entry.originalLine + 1, column: entry.originalColumn + 1 });
    } else {
      frames.push({ file, line, column });
    }
  }
  return frames;
}

// By module URL and script hash (or map URL): the map read by reflow, or null where Node's is used.
// Few maps are kept, so that a process loading bundle after bundle does not keep every one.
const inlineMaps = new Map<string, InlineSourceMap | null>();
const KEPT_MAPS = 4;

/**
 * Source maps the host hands over for modules it imports, by module URL: the
 * map file's URL and JSON, the very bytes Node reads from that file (the CLI's
 * pipelines bundle), so neither the module nor its map is read again.
 */
const SOURCE_MAPS = Symbol.for("reflow.sourceMaps");
type GivenSourceMaps = ReadonlyMap<string, { readonly url: string; readonly text: string }>;

/** The source map Node would map the site's frames with (Node's own, or the same read faster). */
function sourceMapOf(site: NodeJS.CallSite, name: string): { findEntry(line: number, column: number): SourceMapEntry | object | undefined } | undefined {
  // Node keeps maps only when enabled (or for coverage): without, it has none to give.
  if (!process.sourceMapsEnabled) return findSourceMap(name);
  const given = (globalThis as unknown as Record<symbol, GivenSourceMaps | undefined>)[SOURCE_MAPS]?.get(name);
  const hash = given ? undefined : scriptHash(site);
  if (!given && !hash) return findSourceMap(name);
  const key = `${name}\0${given ? given.url : hash}`;
  let map = inlineMaps.get(key);
  if (map === undefined) {
    map = (given ? parseSourceMap(given.text, given.url) : readInlineSourceMap(name, hash!)) ?? null;
    if (map !== null && [...inlineMaps.values()].filter((kept) => kept !== null).length >= KEPT_MAPS) {
      for (const [kept, value] of inlineMaps) if (value !== null) inlineMaps.delete(kept);
    }
    inlineMaps.set(key, map);
  }
  return map ?? findSourceMap(name);
}

/** V8's sha256 of the site's script source, or undefined where it gives none. */
function scriptHash(site: NodeJS.CallSite): string | undefined {
  try {
    return typeof site.getScriptHash === "function" ? site.getScriptHash() || undefined : undefined;
  } catch {
    return undefined;
  }
}

// A project's declarations name a few hundred files in thousands of frames, and `fileURLToPath`
// parses a URL each time (about 20 ms of importing the 1,000 declarations of the plan-warm fixture).
const paths = new Map<string, string>();

/** The path of a stack frame's file or source map source: a `file:` URL (a query left out) or a path. */
function pathOf(name: string): string {
  // Without the query (tsx's namespaces, a cache-busting reload), so that the map stays as small as the project.
  const query = name.startsWith("file:") ? name.indexOf("?") : -1;
  const url = query === -1 ? name : name.slice(0, query);
  let file = paths.get(url);
  if (file === undefined) {
    file = url.startsWith("file:") ? fileURLToPath(url) : url;
    paths.set(url, file);
  }
  return file;
}
