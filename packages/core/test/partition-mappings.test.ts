import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  allPartitions,
  daily,
  dataset,
  defaultMapping,
  fanOut,
  hourly,
  inputPartitionsReady,
  latest,
  mappedInputKeys,
  monthly,
  offset,
  partitionKeys,
  ReflowError,
  rollup,
  source,
  weekly,
  window,
  grainOfKey,
  type PartitionMapping,
  type PartitionScheme,
} from "../src/index.js";

const asOf = new Date("2024-03-01T00:00:00Z");
const days = partitionKeys(daily({ start: "2024-01-01" }), asOf); // 2024-01-01 … 2024-02-29
const months = partitionKeys(monthly({ start: "2024-01" }), asOf); // 2024-01, 2024-02
const dayRange = (from: number, to: number, month = "01") => Array.from({ length: to - from + 1 }, (_, i) => `2024-${month}-${String(from + i).padStart(2, "0")}`);
/** A scheme of the grain a key is written in (UTC), or unpartitioned for `*`. */
const schemeOfKey = (key: string): PartitionScheme => (key === "*" ? { kind: "unpartitioned" } : { kind: grainOfKey(key)!, start: key });
const read = (mapping: PartitionMapping, key: string, keys = days) => mappedInputKeys(mapping, key, { input: schemeOfKey(keys[0] ?? "2024-01-01"), output: schemeOfKey(key) }, keys);
const ready = (mapping: PartitionMapping, key: string, input: PartitionScheme, have: ReadonlySet<string>) => inputPartitionsReady(mapping, key, { input, output: schemeOfKey(key) }, have);

describe("partition mappings: the exact input keys of one partition", () => {
  it("identity reads the same key, or nothing when it does not exist", () => {
    expect(read({ kind: "identity" }, "2024-01-17")).toEqual(["2024-01-17"]);
    expect(read({ kind: "identity" }, "2024-03-01")).toEqual([]);
  });

  it("rollup: a week reads its seven days, a month all its days, a day its 24 hours", () => {
    expect(read({ kind: "rollup" }, "2024-W03")).toEqual(dayRange(15, 21));
    expect(read({ kind: "rollup" }, "2024-01")).toEqual(dayRange(1, 31));
    expect(read({ kind: "rollup" }, "2024-02")).toEqual(dayRange(1, 29, "02"));
    const hours = partitionKeys(hourly({ start: "2024-01-01T00" }), new Date("2024-01-03T00:00:00Z"));
    expect(read({ kind: "rollup" }, "2024-01-02", hours)).toEqual(Array.from({ length: 24 }, (_, h) => `2024-01-02T${String(h).padStart(2, "0")}`));
  });

  it("rollup from weeks into months: each week belongs to the month it starts in", () => {
    const weeks = partitionKeys(weekly({ start: "2024-W01" }), asOf); // W01 (Jan 1) … W08 (Feb 19)
    expect(read({ kind: "rollup" }, "2024-01", weeks)).toEqual(["2024-W01", "2024-W02", "2024-W03", "2024-W04", "2024-W05"]);
    expect(read({ kind: "rollup" }, "2024-02", weeks)).toEqual(["2024-W06", "2024-W07", "2024-W08"]);
  });

  it("rollup reads only the days that exist when the input starts mid-week", () => {
    const late = partitionKeys(daily({ start: "2024-01-03" }), asOf);
    expect(read({ kind: "rollup" }, "2024-W01", late)).toEqual(dayRange(3, 7));
  });

  it("fan-out: a day reads its month", () => {
    expect(read({ kind: "fan-out" }, "2024-01-17", months)).toEqual(["2024-01"]);
    expect(read({ kind: "fan-out" }, "2024-02-29", months)).toEqual(["2024-02"]);
    expect(read({ kind: "fan-out" }, "2024-03-01", months)).toEqual([]);
  });

  it("window: day D over 7 days reads D-6 … D, clipped at the input's first day", () => {
    expect(read({ kind: "window", length: { days: 7 } }, "2024-01-17")).toEqual(dayRange(11, 17));
    expect(read({ kind: "window", length: { days: 7 } }, "2024-01-03")).toEqual(dayRange(1, 3));
    // March 1 itself is not complete yet: the window holds only the days that exist.
    expect(read({ kind: "window", length: { weeks: 1 } }, "2024-03-01")).toEqual(["2024-02-24", "2024-02-25", "2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29"]);
  });

  it("offset: day D reads D-1; the first partition reads nothing", () => {
    expect(read({ kind: "offset", by: { days: 1 } }, "2024-01-17")).toEqual(["2024-01-16"]);
    expect(read({ kind: "offset", by: { days: 1 } }, "2024-03-01")).toEqual(["2024-02-29"]);
    expect(read({ kind: "offset", by: { days: 1 } }, "2024-01-01")).toEqual([]);
    expect(read({ kind: "offset", by: { days: 7 } }, "2024-01-17")).toEqual(["2024-01-10"]);
  });

  it("all reads every partition; latest the newest complete one", () => {
    expect(read({ kind: "all" }, "*")).toEqual(days);
    expect(read({ kind: "latest" }, "2024-01-17")).toEqual(["2024-02-29"]);
    expect(read({ kind: "latest" }, "2024-01-17", [])).toEqual([]);
  });
});

describe("inputPartitionsReady: a partition waits for every input partition it will read", () => {
  const input = daily({ start: "2024-01-01" });
  const have = new Set(days);
  it("a month waits for its last day; a week for its Sunday", () => {
    expect(ready({ kind: "rollup" }, "2024-02", input, have)).toBe(true);
    expect(ready({ kind: "rollup" }, "2024-02", input, new Set(days.slice(0, -1)))).toBe(false);
    expect(ready({ kind: "rollup" }, "2024-W09", input, have)).toBe(false); // Feb 26 … Mar 3
    expect(ready({ kind: "rollup" }, "2023-12", input, have)).toBe(false); // before the input starts: nothing to roll up
  });
  it("a bounded input is not waited for past its end", () => {
    expect(ready({ kind: "rollup" }, "2024-W09", daily({ start: "2024-01-01", end: "2024-02-27" }), have)).toBe(true);
  });
  it("offset's first partition is ready with nothing to read; window and fan-out wait for their newest input", () => {
    expect(ready({ kind: "offset", by: { days: 1 } }, "2024-01-01", input, have)).toBe(true);
    expect(ready({ kind: "window", length: { days: 7 } }, "2024-03-01", input, have)).toBe(false);
    expect(ready({ kind: "fan-out" }, "2024-03-01", monthly({ start: "2024-01" }), new Set(months))).toBe(false);
    expect(ready({ kind: "latest" }, "2024-03-01", input, new Set())).toBe(false);
  });
});

describe("default mappings", () => {
  it("is identity within a grain, rollup from a finer grain, all for unpartitioned, none from a coarser grain", () => {
    expect(defaultMapping(daily({ start: "2024-01-01" }), daily({ start: "2024-02-01" }))).toEqual({ kind: "identity" });
    expect(defaultMapping(daily({ start: "2024-01-01" }), weekly({ start: "2024-W01" }))).toEqual({ kind: "rollup" });
    expect(defaultMapping(hourly({ start: "2024-01-01T00" }), monthly({ start: "2024-01" }))).toEqual({ kind: "rollup" });
    expect(defaultMapping({ kind: "unpartitioned" }, daily({ start: "2024-01-01" }))).toEqual({ kind: "all" });
    expect(defaultMapping(monthly({ start: "2024-01" }), daily({ start: "2024-01-01" }))).toBeUndefined();
  });
});

describe("mapping helpers on inputs", () => {
  const schema = z.object({ n: z.number() });
  const events = source("mapped_events", { partitions: daily({ start: "2024-01-01" }), schema, read: () => [] });
  const rates = source("mapped_rates", { partitions: monthly({ start: "2024-01" }), schema, read: () => [] });

  it("record the mapping as frozen plain data on the input binding", () => {
    const d = dataset("mapped_reader", {
      partitions: daily({ start: "2024-01-01" }),
      schema,
      inputs: { week: window(events, { days: 7 }), yesterday: offset(events, { days: 1 }), rates: fanOut(rates), every: allPartitions(events), newest: latest(events), plain: events },
      transform: async ({ inputs }) => {
        const rows: { n: number }[] = await inputs.week.rows(); // rows keep their type through the helper
        return rows;
      },
    });
    expect(d.inputs).toEqual([
      { alias: "week", dataset: "mapped_events", mapping: { kind: "window", length: { days: 7 } } },
      { alias: "yesterday", dataset: "mapped_events", mapping: { kind: "offset", by: { days: 1 } } },
      { alias: "rates", dataset: "mapped_rates", mapping: { kind: "fan-out" } },
      { alias: "every", dataset: "mapped_events", mapping: { kind: "all" } },
      { alias: "newest", dataset: "mapped_events", mapping: { kind: "latest" } },
      { alias: "plain", dataset: "mapped_events" },
    ]);
    expect(Object.isFrozen(d.inputs[0]!.mapping)).toBe(true);
    expect(Object.isFrozen((d.inputs[0]!.mapping as { length: object }).length)).toBe(true);
    expect(rollup(events).mapping).toEqual({ kind: "rollup" });
  });

  it("reject a window or offset of no length, naming the calling line", () => {
    let error: ReflowError | undefined;
    try {
      window(events, { days: 0 });
    } catch (e) {
      error = e as ReflowError;
    }
    expect(error?.code).toBe("REFLOW_INVALID_DECLARATION");
    expect(error?.message).toMatch(/^packages\/core\/test\/partition-mappings\.test\.ts:\d+:\d+: window\(\): expected a length greater than zero, got \{"days":0\}$/);
    expect(() => offset(events, { fortnights: 1 } as never)).toThrow('offset(): unknown unit "fortnights"');
  });
});
