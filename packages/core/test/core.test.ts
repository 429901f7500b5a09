import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsOf, ContentHasher, daily, dailyKeys, dataset, partitionKeys, redactSecrets, redactUrl, source } from "../src/index.js";

describe("daily partitions", () => {
  it("runs from start to the last complete day before as-of", () => {
    expect(dailyKeys(daily({ start: "2024-02-27" }), new Date("2024-03-02T13:00:00Z"))).toEqual(["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]);
    expect(dailyKeys(daily({ start: "2024-02-27" }), new Date("2024-03-02T00:00:00Z"))).toEqual(["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]);
    expect(dailyKeys(daily({ start: "2024-02-27" }), new Date("2024-03-01T23:59:59Z"))).toEqual(["2024-02-27", "2024-02-28", "2024-02-29"]);
  });

  it("stops at end, inclusive", () => {
    expect(dailyKeys(daily({ start: "2024-01-01", end: "2024-01-02" }), new Date("2030-01-01"))).toEqual(["2024-01-01", "2024-01-02"]);
  });

  it("rejects impossible dates and reversed ranges", () => {
    expect(() => daily({ start: "2024-02-30" })).toThrow('daily(): start must be a date written YYYY-MM-DD, got "2024-02-30"');
    expect(() => daily({ start: "2024-01-02", end: "2024-01-01" })).toThrow("daily(): end 2024-01-01 is before start 2024-01-02");
  });

  it("gives an unpartitioned dataset the single key *", () => {
    expect(partitionKeys({ kind: "unpartitioned" }, new Date())).toEqual(["*"]);
  });
});

describe("declarations", () => {
  const schema = z.object({ n: z.number() });

  it("records where they were declared", () => {
    const d = source("located", { schema, read: () => [] });
    expect(d.definedAt?.file).toMatch(/packages\/core\/test\/core\.test\.ts$/);
    expect(d.definedAt?.line).toBe(30);
  });

  it("rejects a name that cannot be a table name, naming file and line", () => {
    expect(() => source("Bad Name", { schema, read: () => [] })).toThrow(
      /^packages\/core\/test\/core\.test\.ts:36:\d+: dataset "Bad Name": name must be lower_snake_case/,
    );
  });

  it("records the frames of a factory's callers, innermost first", () => {
    const make = (name: string) => source(name, { schema, read: () => [] });
    const made = make("made");
    expect(made.callStack?.map((frame) => [frame.file.slice(frame.file.lastIndexOf("/") + 1), frame.line])).toEqual([
      ["core.test.ts", 42],
      ["core.test.ts", 43],
    ]);
    expect(made.definedAt).toEqual(made.callStack?.[0]);
  });

  it("keeps dependsOnEnv sorted without duplicates, and rejects what is not a variable name", () => {
    expect(source("env", { schema, read: () => [], dependsOnEnv: ["TAX_RATE", "REGION", "TAX_RATE"] }).dependsOnEnv).toEqual(["REGION", "TAX_RATE"]);
    expect(source("no_env", { schema, read: () => [] }).dependsOnEnv).toEqual([]);
    expect(() => source("bad_env", { schema, read: () => [], dependsOnEnv: ["TAX RATE"] })).toThrow(
      /^packages\/core\/test\/core\.test\.ts:54:\d+: dataset "bad_env": dependsOnEnv must be an array of environment variable names such as \["TAX_RATE"\], got \["TAX RATE"\]$/,
    );
    expect(() => source("bad_env", { schema, read: () => [], dependsOnEnv: "TAX_RATE" as never })).toThrow('got "TAX_RATE"');
    expect(() => source("bad_env", { schema, read: () => [], dependsOnEnv: ["A"], ignoreEnv: ["A", "B"] })).toThrow(/dataset "bad_env": A cannot be both in dependsOnEnv and in ignoreEnv$/);
  });

  it("rejects an input that is not a declaration", () => {
    let caught: { code?: string; message?: string } = {};
    try {
      dataset("reader", { schema, inputs: { events: undefined as never }, transform: () => [] });
    } catch (error) {
      caught = error as typeof caught;
    }
    expect(caught.code).toBe("REFLOW_UNKNOWN_INPUT");
    expect(caught.message).toMatch(/dataset "reader": input "events" is not a dataset or source declared with reflow \(got undefined: is it declared later in the file, or imported in a cycle\?\)$/);
  });
});

describe("columnsOf", () => {
  it("maps zod fields to warehouse columns", () => {
    const schema = z.object({
      s: z.string(),
      i: z.number().int(),
      r: z.number(),
      b: z.boolean(),
      e: z.enum(["a", "b"]),
      o: z.array(z.string()),
      n: z.string().nullable(),
      opt: z.number().optional(),
    });
    expect(columnsOf(schema, "t")).toEqual([
      { name: "s", type: "text", nullable: false, optional: false },
      { name: "i", type: "integer", nullable: false, optional: false },
      { name: "r", type: "real", nullable: false, optional: false },
      { name: "b", type: "boolean", nullable: false, optional: false },
      { name: "e", type: "text", nullable: false, optional: false },
      { name: "o", type: "json", nullable: false, optional: false },
      { name: "n", type: "text", nullable: true, optional: false },
      { name: "opt", type: "real", nullable: false, optional: true },
    ]);
  });

  it("refuses reserved column names", () => {
    expect(() => columnsOf(z.object({ _partition: z.string() }), "t")).toThrow('dataset "t": column "_partition" is reserved by reflow');
  });
});

describe("ContentHasher", () => {
  const columns = columnsOf(z.object({ a: z.number(), b: z.string() }), "t");
  const digest = (rows: { a: number; b: string }[]) => {
    const hasher = new ContentHasher(columns);
    rows.forEach((r) => hasher.add(r));
    return hasher.digest();
  };

  it("ignores row order but not duplicates or values", () => {
    const rows = [{ a: 1, b: "x" }, { a: 2, b: "y" }];
    expect(digest(rows)).toBe(digest([...rows].reverse()));
    expect(digest([...rows, rows[0]!])).not.toBe(digest(rows));
    expect(digest([{ a: 1, b: "x" }, { a: 2, b: "z" }])).not.toBe(digest(rows));
    expect(digest([])).toBe("0-00000000000000000000000000000000");
  });

  // Digests are recorded in state: a faster implementation must give the same ones.
  it("gives the digest recorded by earlier versions of reflow", () => {
    expect(digest([{ a: 1, b: "x" }, { a: 2, b: "y" }, { a: 3, b: "z" }])).toBe("3-b682daaa880a2e7e592c412771f62b7b");
  });

  // The lanes are summed as 32-bit words with carries by hand: check them against 64-bit BigInt sums
  // over enough rows that every word carries and both lanes wrap around 2^64 many times.
  it("sums each lane modulo 2^64 exactly as BigInt arithmetic does", async () => {
    // Imported here: earlier tests of this file assert their own line numbers.
    const { createHash } = await import("node:crypto");
    const rows = Array.from({ length: 5_000 }, (_, i) => ({ a: i, b: `row ${(i * 7919) % 1000}` }));
    const mask = (1n << 64n) - 1n;
    let low = 0n;
    let high = 0n;
    for (const row of rows) {
      const hash = createHash("sha256").update(JSON.stringify([row.a, row.b])).digest();
      low = (low + hash.readBigUInt64BE(0)) & mask;
      high = (high + hash.readBigUInt64BE(8)) & mask;
    }
    expect(digest(rows)).toBe(`1388-${high.toString(16).padStart(16, "0")}${low.toString(16).padStart(16, "0")}`);
  });
});

describe("redactUrl", () => {
  it("hides the password of a URL and wherever a message repeats it", () => {
    expect(redactUrl("postgres://app:s3cr%40t@db.example:5432/analytics?sslmode=require")).toBe("postgres://app:***@db.example:5432/analytics?sslmode=require");
    expect(redactUrl("postgresql://app@db/x")).toBe("postgresql://app@db/x");
    expect(redactUrl("postgres://db/x")).toBe("postgres://db/x");
    const url = "postgres://app:s3cr%40t@db/x";
    expect(redactSecrets(`connect to ${url} failed: password s3cr@t rejected, s3cr%40t`, url)).toBe("connect to postgres://app:***@db/x failed: password *** rejected, ***");
  });
});
