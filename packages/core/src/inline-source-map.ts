import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** What `findSourceMap(url).findEntry(line, column)` answers (0-based), for the frames reflow maps. */
export interface SourceMapEntry {
  /** Absolute URL of the original source; absent for a mapping without one. */
  readonly originalSource?: string;
  readonly originalLine: number;
  readonly originalColumn: number;
}

export interface InlineSourceMap {
  /** As Node's `SourceMap.findEntry`: the last mapping at or before the position, in (line, column) order; undefined before the first. */
  findEntry(line: number, column: number): SourceMapEntry | undefined;
}

// As Node finds it (`extractSourceMapURLMagicComment`): the last such comment.
const MAGIC_COMMENT = /\/[*/]#\s+sourceMappingURL=(?<sourceMappingURL>[^\s]+)/g;
const SOURCE_URL_COMMENT = /\/[*/]#\s+sourceURL=/;
const COMMA = 44;
const SEMICOLON = 59;
const ASCII = /^[\x00-\x7f]*$/;
// A `data:` URL whose path is the rest as it is: printable ASCII, no `?` or `#` to end it, no `/` first
// to make it a hierarchical path (with an authority after `//`, `.` segments resolved).
const PLAIN_DATA_URL = /^data:[\x21\x22\x24-\x2e\x30-\x3e\x40-\x7e][\x21\x22\x24-\x3e\x40-\x7e]*$/;
// Each byte's base64 digit; 0 for any other byte, as Node's `decodeVLQ` counts a character that is none.
const BASE64 = new Uint8Array(256);
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].entries()) BASE64[c.charCodeAt(0)] = i;

/**
 * The inline source map of the module at `url`, read from its file, when the
 * file is exactly the script V8 ran (`scriptHash`, from `CallSite.getScriptHash()`)
 * and carries its map as a base64 `data:` URL (esbuild's `sourcemap: "inline"`);
 * otherwise undefined, and the caller asks Node (`findSourceMap`).
 *
 * It gives the same entries as Node's `SourceMap`, whose construction decodes
 * every mapping of a bundle into an array of its own (a tenth of a second for
 * a thousand declarations), where this reads one array of numbers. Source maps
 * must be enabled, as for Node to have kept the map at all.
 */
export function readInlineSourceMap(url: string, scriptHash: string): InlineSourceMap | undefined {
  try {
    const file = url.startsWith("file:") ? fileURLToPath(url) : url;
    const text = readFileSync(file, "utf8");
    if (!text.includes("sourceMappingURL=data:") || createHash("sha256").update(text).digest("hex") !== scriptHash) return undefined;
    // V8 then names the script by that URL, and Node resolves the map's sources against the file's: left to Node.
    if (SOURCE_URL_COMMENT.test(text)) return undefined;
    let comment: string | undefined;
    for (const match of text.matchAll(MAGIC_COMMENT)) comment = match.groups!.sourceMappingURL;
    if (comment === undefined || !comment.startsWith("data:")) return undefined;
    // As Node's `sourceMapFromDataUrl`; any other form is left to Node.
    // The URL's path, as `new URL(comment).pathname` gives it (2 ms, for the bundle's), when no character is escaped or ends it.
    const [format = "", data = ""] = (PLAIN_DATA_URL.test(comment) ? comment.slice("data:".length) : new URL(comment).pathname).split(",");
    const parameters = format.split(";");
    if (parameters[0] !== "application/json" || parameters.at(-1) !== "base64") return undefined;
    // Sources resolved against the module's URL.
    return parseSourceMap(Buffer.from(data, "base64").toString("utf8"), url.startsWith("file:") ? url : pathToFileURL(file).href);
  } catch {
    // Node's own reading decides (and finds no map, or another one).
    return undefined;
  }
}

/**
 * A source map's JSON as Node's `SourceMap` reads it, its sources resolved
 * against `base` as Node resolves them (`sourcesToAbsolute`): the module's URL
 * for an inline map, the map file's for a linked one. Undefined for a map
 * Node reads another way (sections) or not at all.
 */
export function parseSourceMap(json: string, base: string): InlineSourceMap | undefined {
  try {
    const map = JSON.parse(json) as { sources?: unknown; sourceRoot?: unknown; mappings?: unknown; sections?: unknown };
    if (map.sections !== undefined || !Array.isArray(map.sources) || typeof map.mappings !== "string") return undefined;
    const sources = map.sources.map((source: unknown) => {
      const full = `${(map.sourceRoot as string | undefined) || ""}${source as string}`;
      return path.isAbsolute(full) ? pathToFileURL(full).href : new URL(full, base).href;
    });
    return decodeMappings(map.mappings, sources);
  } catch {
    return undefined;
  }
}

/** Node's `SourceMap` parsing (`#parseMap`, then a stable sort by line and column) into one flat array. */
function decodeMappings(text: string, sources: readonly string[]): InlineSourceMap | undefined {
  // Read as bytes, faster than characters before V8 optimizes the loop: only ASCII is the same so.
  if (!ASCII.test(text)) return undefined;
  const length = text.length;
  // Past the end Node reads no character, which counts as 0 and is no separator: as a 0 byte does.
  // A segment reads at most five digits past the end, one per field.
  const mappings = new Uint8Array(length + 8);
  mappings.set(Buffer.from(text, "latin1"));
  // [line, column, source index (-1: none), source line, source column] per segment: at most one
  // per two characters (a digit and a separator), and the last; sized so, not counted, to read the text once.
  const segments = (length >> 1) + 1;
  const fields = new Int32Array(segments * 5);
  let count = 0;
  let line = 0;
  let column = 0;
  // Source index, line and column, carried from segment to segment.
  let sourceIndex = 0;
  let sourceLine = 0;
  let sourceColumn = 0;
  let i = 0;
  let unordered = false;
  // One loop, no calls: it runs once, mostly before V8 optimizes it, where each call costs.
  while (true) {
    // As Node: a comma, or else the semicolons of the lines before (a comma after them is read as a digit).
    if (mappings[i] === COMMA) i++;
    else {
      while (mappings[i] === SEMICOLON) {
        line++;
        column = 0;
        i++;
      }
      if (i >= length) break;
    }
    // More segments than that: fields run together, in a map Node reads its own way.
    if (count === segments) throw new Error("malformed source map mappings");
    const at = count++ * 5;
    fields[at] = line;
    fields[at + 2] = -1;
    // Up to five fields (column; source index, line and column; name), each one of Node's `decodeVLQ`,
    // down to its 32-bit arithmetic: a character that is no base64 digit (or none, past the end) counts as 0.
    for (let field = 0; field < 5; field++) {
      let result = 0;
      let shift = 0;
      let digit: number;
      do {
        digit = BASE64[mappings[i++]!]!;
        result += (digit & 31) << shift;
        shift += 5;
      } while (digit & 32);
      const value = result & 1 ? -(result >>> 1) | (1 << 31) : result >>> 1;
      if (field === 0) {
        fields[at + 1] = column += value;
        // Lines only grow; a column smaller than the one before on the same line is out of order.
        if (at > 0 && fields[at - 5] === line && fields[at - 4]! > fields[at + 1]!) unordered = true;
      } else if (field === 1) fields[at + 2] = sourceIndex += value;
      else if (field === 2) fields[at + 3] = sourceLine += value;
      else if (field === 3) fields[at + 4] = sourceColumn += value;
      // As Node: a separator (`isSeparator`; the end of the text is none) after the column or the
      // source column ends the segment; the name, not used, always does.
      if (field === 4) break;
      if (field === 0 || field === 3) {
        const next = mappings[i];
        if (next === COMMA || next === SEMICOLON) break;
      }
    }
  }
  // Only the segments read, for as long as the map is kept.
  const kept = fields.slice(0, count * 5);
  // Out of order (esbuild writes them in order): sorted as Node sorts them, stably.
  const order = unordered ? Int32Array.from({ length: count }, (_, n) => n).sort((a, b) => kept[a * 5]! - kept[b * 5]! || kept[a * 5 + 1]! - kept[b * 5 + 1]! || a - b) : undefined;
  const at = (n: number): number => (order ? order[n]! : n) * 5;
  return {
    findEntry(targetLine, targetColumn) {
      // Node's binary search, to land on the same mapping.
      let first = 0;
      let remaining = count;
      while (remaining > 1) {
        const step = remaining >> 1;
        const middle = first + step;
        const m = at(middle);
        if (targetLine < kept[m]! || (targetLine === kept[m] && targetColumn < kept[m + 1]!)) remaining = step;
        else {
          first = middle;
          remaining -= step;
        }
      }
      if (count === 0) return undefined;
      const e = at(first);
      if (first === 0 && (targetLine < kept[e]! || (targetLine === kept[e] && targetColumn < kept[e + 1]!))) return undefined;
      const source = kept[e + 2]! === -1 ? undefined : sources[kept[e + 2]!];
      return source === undefined
        ? { originalLine: kept[e + 3]!, originalColumn: kept[e + 4]! }
        : { originalSource: source, originalLine: kept[e + 3]!, originalColumn: kept[e + 4]! };
    },
  };
}
