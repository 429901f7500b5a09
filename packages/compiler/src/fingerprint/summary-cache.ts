import fs from "node:fs";
import path from "node:path";
import type { FileSummary } from "./file-summary.js";

interface CacheContent {
  readonly version: string;
  /** Absolute path → summary; each summary carries the content hash it is valid for. */
  readonly files: Readonly<Record<string, FileSummary>>;
}

/** The summaries cached in `cacheFile` by an analyzer of this `version`; none if absent, unreadable or stale. */
export function readSummaryCache(cacheFile: string, version: string): Map<string, FileSummary> {
  try {
    const content = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as Partial<CacheContent>;
    if (content.version !== version || typeof content.files !== "object" || content.files === null) return new Map();
    return new Map(Object.entries(content.files));
  } catch {
    // A missing or corrupt cache only costs a re-analysis.
    return new Map();
  }
}

/** Writes the summaries of files that still exist, atomically so a concurrent reader never sees half a file. */
export function writeSummaryCache(cacheFile: string, version: string, summaries: ReadonlyMap<string, FileSummary>): void {
  const files = Object.fromEntries([...summaries].filter(([file]) => fs.existsSync(file)));
  const content: CacheContent = { version, files };
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    fs.writeFileSync(temporary, JSON.stringify(content));
    fs.renameSync(temporary, cacheFile);
  } catch {
    // The cache is only an optimisation: failing to write it must not fail the build.
    fs.rmSync(temporary, { force: true });
  }
}
