import crypto from "node:crypto";
import type { ColumnSpec } from "./schema-columns.js";

/**
 * sha256 of one row's text, as a "binary" (latin1) string, one character per byte. The
 * one-shot `crypto.hash` (Node >= 20.12) gives the same digest about twice as
 * fast as a Hash object per row; a string rather than a Buffer saves allocating
 * a Buffer per row, which cost more than the hashing itself. Older Node falls
 * back to `createHash`.
 */
const sha256: (text: string) => string =
  typeof crypto.hash === "function" ? (text) => crypto.hash("sha256", text, "binary") : (text) => crypto.createHash("sha256").update(text).digest("binary");

/** The big-endian 32-bit word at byte `at` of a latin1 digest. */
function word(digest: string, at: number): number {
  return digest.charCodeAt(at) * 0x100_0000 + ((digest.charCodeAt(at + 1) << 16) | (digest.charCodeAt(at + 2) << 8) | digest.charCodeAt(at + 3));
}

const WORD = 0x1_0000_0000;

/**
 * An order-independent hash of a partition's rows: the sum, modulo 2^64 in two
 * lanes, of a hash per row, plus the row count. Two partitions with the same
 * multiset of rows hash equal whatever order a transform returns them in, so
 * it can decide whether a rebuild changed anything.
 *
 * Each 64-bit lane is kept as two 32-bit words in plain numbers, carried by
 * hand: the same sums as BigInt arithmetic, without a BigInt per row.
 */
export class ContentHasher {
  // Lane "low" is bytes 0–7 of each row's sha256 (big-endian), lane "high" bytes 8–15.
  private lowHi = 0;
  private lowLo = 0;
  private highHi = 0;
  private highLo = 0;
  private count = 0;
  /** Reused for every `add`: the row's values in column order. */
  private readonly values: unknown[];
  private readonly names: readonly string[];

  constructor(columns: readonly ColumnSpec[]) {
    this.names = columns.map((column) => column.name);
    this.values = new Array(columns.length);
  }

  add(row: Readonly<Record<string, unknown>>): void {
    const { names, values } = this;
    for (let i = 0; i < names.length; i++) values[i] = row[names[i]!] ?? null;
    this.addValues(values);
  }

  /** A row given as its values in column order (absent values as null): what a warehouse reading rows back has at hand. */
  addValues(values: readonly unknown[]): void {
    const digest = sha256(JSON.stringify(values));
    let lo = this.lowLo + word(digest, 4);
    let carry = lo >= WORD ? 1 : 0;
    this.lowLo = lo - carry * WORD;
    let hi = this.lowHi + word(digest, 0) + carry;
    this.lowHi = hi >= WORD ? hi - WORD : hi;
    lo = this.highLo + word(digest, 12);
    carry = lo >= WORD ? 1 : 0;
    this.highLo = lo - carry * WORD;
    hi = this.highHi + word(digest, 8) + carry;
    this.highHi = hi >= WORD ? hi - WORD : hi;
    this.count += 1;
  }

  get rowCount(): number {
    return this.count;
  }

  digest(): string {
    return `${this.count.toString(16)}-${hex8(this.highHi)}${hex8(this.highLo)}${hex8(this.lowHi)}${hex8(this.lowLo)}`;
  }
}

function hex8(word: number): string {
  return word.toString(16).padStart(8, "0");
}
