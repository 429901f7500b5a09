import fs from "node:fs";
import path from "node:path";
import type { FileSummary } from "./file-summary.js";

interface CacheContent {
  readonly version: string;
  /** Absolute path → summary; each summary carries the content hash it is valid for. */
  readonly files: Readonly<Record<string, FileSummary>>;
}

// Each summary read, with its JSON text: written back as read while unchanged (a warm run
// changes one file of hundreds, and serialising them all again was most of writing the cache).
const texts = new WeakMap<FileSummary, string>();

/**
 * The summaries cached in `cacheFile` by an analyzer of this `version`; none if absent, unreadable or stale.
 * The file is one JSON object with a summary per line (see `writeSummaryCache`); any other JSON with
 * the same content (a cache written by an older reflow) is read too.
 */
export function readSummaryCache(cacheFile: string, version: string): Map<string, FileSummary> {
  try {
    const text = fs.readFileSync(cacheFile, "utf8");
    const lines = text.split("\n");
    if (lines[0] !== header(version) || lines.at(-2) !== "}}" || lines.at(-1) !== "") return readWhole(text, version);
    const summaries = new Map<string, FileSummary>();
    for (const line of lines.slice(1, -2)) {
      if (line === "") continue;
      const entry = line.endsWith(",") ? line.slice(0, -1) : line;
      const parsed = Object.entries(JSON.parse(`{${entry}}`) as Record<string, FileSummary>);
      for (const [file, summary] of parsed) summaries.set(file, summary);
      const [file, summary] = parsed[0] ?? [];
      if (parsed.length === 1 && entry.startsWith(`${JSON.stringify(file)}:`)) texts.set(summary!, entry.slice(JSON.stringify(file).length + 1));
    }
    return summaries;
  } catch {
    // A missing or corrupt cache only costs a re-analysis.
    return new Map();
  }
}

function readWhole(text: string, version: string): Map<string, FileSummary> {
  const content = JSON.parse(text) as Partial<CacheContent>;
  if (content.version !== version || typeof content.files !== "object" || content.files === null) return new Map();
  return new Map(Object.entries(content.files));
}

function header(version: string): string {
  return `{"version":${JSON.stringify(version)},"files":{`;
}

/** Writes the summaries of files that still exist, atomically so a concurrent reader never sees half a file. */
export function writeSummaryCache(cacheFile: string, version: string, summaries: ReadonlyMap<string, FileSummary>): void {
  const entries: string[] = [];
  for (const [file, summary] of summaries) {
    if (!fs.existsSync(file)) continue;
    let text = texts.get(summary);
    if (text === undefined) texts.set(summary, (text = JSON.stringify(summary)));
    entries.push(`${JSON.stringify(file)}:${text}`);
  }
  // JSON as `JSON.stringify({ version, files })` would write it, with a line per file.
  const content = `${header(version)}\n${entries.map((entry, i) => (i < entries.length - 1 ? `${entry},` : entry)).join("\n")}\n}}\n`;
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    fs.writeFileSync(temporary, content);
    fs.renameSync(temporary, cacheFile);
  } catch {
    // The cache is only an optimisation: failing to write it must not fail the build.
    fs.rmSync(temporary, { force: true });
  }
}
