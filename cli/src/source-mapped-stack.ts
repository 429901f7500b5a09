import { readFileSync } from "node:fs";
import { findSourceMap, SourceMap, type SourceMapPayload } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

// `    at fn (file:///a/b.mjs:12:3)`, `    at /a/b.js:12:3`: indent, name (if any), file, line, column.
const FRAME = /^(\s+at )(?:(.+) \()?(file:\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)\)?$/gm;
const LINKED_MAP = /\/\/# sourceMappingURL=(?!data:)(\S+)\s*$/;

/**
 * The stack with each frame of a module Node has no source map for, but that links one (the CLI
 * bundle's chunks: source maps are enabled only when the pipelines load, after the CLI is
 * compiled), at its source position as Node would print it; other frames as they are.
 */
export function sourceMappedStack(stack: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  return stack.replace(FRAME, (frame, at: string, name: string | undefined, file: string, line: string, column: string) => {
    if (!maps.has(file)) maps.set(file, linkedSourceMap(file));
    const entry = maps.get(file)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !("originalSource" in entry) || !entry.originalSource) return frame;
    const source = entry.originalSource.startsWith("file:") ? fileURLToPath(entry.originalSource) : entry.originalSource;
    // Node names a mapped frame's function even when V8 gives none.
    return `${at}${name ?? "<anonymous>"} (${source}:${entry.originalLine + 1}:${entry.originalColumn + 1})`;
  });
}

/** The map the module's `sourceMappingURL` names, its sources as URLs; undefined if Node has one already, or none is found. */
function linkedSourceMap(file: string): SourceMap | undefined {
  try {
    const url = file.startsWith("file:") ? new URL(file) : pathToFileURL(file);
    if (findSourceMap(url.href) ?? findSourceMap(fileURLToPath(url))) return undefined;
    const link = LINKED_MAP.exec(readFileSync(url, "utf8"));
    if (!link) return undefined;
    const mapUrl = new URL(link[1]!, url);
    const payload = JSON.parse(readFileSync(mapUrl, "utf8")) as SourceMapPayload;
    const root = new URL(payload.sourceRoot ?? "", mapUrl);
    return new SourceMap({ ...payload, sources: payload.sources.map((source) => new URL(source, root).href) });
  } catch {
    return undefined;
  }
}
