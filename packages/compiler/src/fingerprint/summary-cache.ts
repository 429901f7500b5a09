import fs from "node:fs";
import path from "node:path";
import { readTextFile } from "../read-text-file.js";
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
    const text = readTextFile(cacheFile);
    const head = `${header(version)}\n`;
    if (!text.startsWith(head) || !text.endsWith("\n}}\n")) return readWhole(text, version);
    const summaries = new Map<string, FileSummary>();
    // Line by line, without splitting the 2 MB into an array of them first.
    const end = text.length - "}}\n".length;
    for (let at = head.length, next = 0; at < end; at = next + 1) {
      next = text.indexOf("\n", at);
      const line = text.slice(at, next);
      if (line === "") continue;
      readEntry(line.endsWith(",") ? line.slice(0, -1) : line, summaries);
    }
    return summaries;
  } catch {
    // A missing or corrupt cache only costs a re-analysis.
    return new Map();
  }
}

/** One `"file":{summary}` line, as `writeSummaryCache` writes it; other JSON members as JSON.parse reads them. */
function readEntry(entry: string, summaries: Map<string, FileSummary>): void {
  const keyEnd = jsonStringEnd(entry);
  if (keyEnd > 0 && entry[keyEnd] === ":" && entry[keyEnd + 1] === "{") {
    const summaryText = entry.slice(keyEnd + 1);
    let summary: FileSummary | undefined;
    try {
      summary = JSON.parse(summaryText) as FileSummary;
    } catch {
      // Not one member: read as the members they are, below.
    }
    if (summary !== undefined) {
      summaries.set(JSON.parse(entry.slice(0, keyEnd)) as string, summary);
      texts.set(summary, summaryText);
      return;
    }
  }
  for (const [file, summary] of Object.entries(JSON.parse(`{${entry}}`) as Record<string, FileSummary>)) summaries.set(file, summary);
}

/** Where the JSON string `text` starts with ends (after its closing quote), or -1. */
function jsonStringEnd(text: string): number {
  if (text[0] !== '"') return -1;
  for (let i = 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return -1;
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
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    const fd = fs.openSync(temporary, "w");
    try {
      // JSON as `JSON.stringify({ version, files })` would write it, with a line per file, written in
      // chunks: the whole 2 MB made as one string was copied twice more before it reached the file.
      let chunk = `${header(version)}\n`;
      entries.forEach((entry, i) => {
        chunk += i < entries.length - 1 ? `${entry},\n` : `${entry}\n`;
        if (chunk.length >= WRITTEN_CHUNK) {
          writeAll(fd, chunk);
          chunk = "";
        }
      });
      writeAll(fd, `${chunk}}}\n`);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, cacheFile);
  } catch {
    // The cache is only an optimisation: failing to write it must not fail the build.
    fs.rmSync(temporary, { force: true });
  }
}

const WRITTEN_CHUNK = 64 * 1024;

/** Writes all of `text` at the file's position (a write may take part of it). */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written);
}
