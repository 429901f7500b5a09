import { describe, expect, it } from "vitest";
import { compareNames } from "../src/compare-names.js";

const english = new Intl.Collator("en");

describe("compareNames", () => {
  it("orders names of letters, digits, _, - and . as English collation does, for every pair up to three characters", () => {
    const alphabet = [..."_-.09aAbBz"];
    const names = [""];
    for (let length = 1, last = [""]; length <= 3; length++) {
      last = last.flatMap((name) => alphabet.map((c) => name + c));
      names.push(...last);
    }
    const differing: string[] = [];
    for (const a of names) for (const b of names) if (compareNames(a, b) !== english.compare(a, b)) differing.push(`${a} ${b}`);
    expect(differing).toEqual([]);
  });

  it("orders longer names as English collation does", () => {
    const names = ["raw_events", "rawEvents", "raw-events", "raw.events", "RawEvents", "raw_events2", "raw_events10", "d00214", "d00226", "i0", "i1", "i10", "I1", "a", "A", "aB", "Ab", "ab_", "ab-"];
    expect([...names].sort(compareNames)).toEqual([...names].sort(english.compare));
    expect([...names].sort(compareNames)).toEqual(["a", "A", "aB", "Ab", "ab_", "ab-", "d00214", "d00226", "i0", "i1", "I1", "i10", "raw_events", "raw_events10", "raw_events2", "raw-events", "raw.events", "rawEvents", "RawEvents"]);
  });

  it("orders other names by English collation, not the machine's locale", () => {
    // Lithuanian puts y right after i; Czech puts ch after h.
    expect(["kappa", "ypsilon", "hotel", "charlie", "é", "e", "f"].sort(compareNames)).toEqual(["charlie", "e", "é", "f", "hotel", "kappa", "ypsilon"]);
    expect(compareNames("naïve", "naive")).toBe(english.compare("naïve", "naive"));
    expect(compareNames("a b", "a_b")).toBe(english.compare("a b", "a_b"));
  });
});
