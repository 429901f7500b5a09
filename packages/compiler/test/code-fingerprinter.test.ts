import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isReflowError } from "@reflow/core";
import { createCodeFingerprinter, type CodeFingerprint, type FingerprintTarget } from "../src/code-fingerprinter.js";

// ---------------------------------------------------------------- fixtures

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

interface Fixture {
  readonly dir: string;
  write(files: Readonly<Record<string, string>>): void;
  /** Replaces `from` (which must occur) by `to` in a file. */
  edit(file: string, from: string, to: string): void;
  /** Every `dataset("name"` / `source("name"` call in the project's .ts files, as the runtime would report it. */
  targets(): FingerprintTarget[];
  /** Fingerprints every target with a fresh fingerprinter. */
  codes(options?: { readonly cacheFile?: string; readonly targets?: readonly FingerprintTarget[] }): Map<string, CodeFingerprint>;
  hashes(): Record<string, string>;
}

function project(files: Readonly<Record<string, string>>): Fixture {
  const dir = fs.mkdtempSync(os.tmpdir() + "/reflow-fp-");
  roots.push(dir);
  const fixture: Fixture = {
    dir,
    write(more) {
      for (const [file, text] of Object.entries(more)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      }
    },
    edit(file, from, to) {
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
      fs.writeFileSync(path.join(dir, file), text.replace(from, to));
    },
    targets() {
      return sourceFiles(dir).flatMap((file) =>
        fs
          .readFileSync(file, "utf8")
          .split("\n")
          .flatMap((text, index) =>
            [...text.matchAll(/\b(dataset|source)\(\s*"([^"]+)"/g)].map((match) => ({
              name: match[2]!,
              file,
              line: index + 1,
              column: match.index + 1,
              property: match[1] === "source" ? "read" : "transform",
            })),
          ),
      );
    },
    codes(options = {}) {
      const fingerprinter = createCodeFingerprinter({ projectDir: dir, ...(options.cacheFile ? { cacheFile: options.cacheFile } : {}) });
      return new Map(fingerprinter.fingerprint(options.targets ?? fixture.targets()));
    },
    hashes() {
      return Object.fromEntries([...fixture.codes()].map(([name, code]) => [name, code.hash]));
    },
  };
  fixture.write(files);
  return fixture;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.name !== "node_modules")
    .flatMap((entry) => {
      const file = path.join(dir, entry.name);
      return entry.isDirectory() ? sourceFiles(file) : file.endsWith(".ts") ? [file] : [];
    })
    .sort();
}

/** Hashes of the transform of a one-dataset file; one fingerprinter, so variants re-analyse only that file. */
function transformHasher(extraFiles: Readonly<Record<string, string>> = {}): (transform: string, prelude?: string) => string {
  const fixture = project(extraFiles);
  const fingerprinter = createCodeFingerprinter({ projectDir: fixture.dir });
  return (transform, prelude = "") => {
    fixture.write({ "pipelines/x.ts": `import { dataset } from "@reflow/core";\n${prelude}\nexport const x = dataset("x", {\n  transform: ${transform},\n});\n` });
    return fingerprinter.fingerprint(fixture.targets()).get("x")!.hash;
  };
}

function errorOf(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isReflowError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected an error");
}

/** The spec's example pipeline: a transform using helpers directly, transitively and through a namespace. */
const ACTIVE_USERS = `import { dataset, daily } from "@reflow/core";
import { z } from "zod";
import { countHumans } from "./helpers.js";
import * as h from "./more-helpers.js";
import { events } from "./events.js";

export const activeUsers = dataset("active_users", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { events },
  schema: z.object({ day: z.string(), active_users: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    const rows = (await inputs.events.rows()).filter((row) => row.kind !== "test");
    return [{ day: partition.key, active_users: h.round(countHumans(rows)) }];
  },
});
`;

const BASE_FILES = {
  "pipelines/active-users.ts": ACTIVE_USERS,
  "pipelines/events.ts": `import { source } from "@reflow/core";
import { z } from "zod";
import { readFileSync } from "node:fs";

export const events = source("events", {
  schema: z.object({ user_id: z.string(), user_agent: z.string(), kind: z.string() }),
  read: ({ partition }) => JSON.parse(readFileSync(\`data/\${partition.key}.json\`, "utf8")),
});
`,
  "pipelines/helpers.ts": `import { format } from "date-fns/format";
import { BOT_MARKERS } from "./markers.js";

export function isHuman(row: { user_agent: string }): boolean {
  return !BOT_MARKERS.some((marker) => row.user_agent.includes(marker));
}

/** People, not bots. */
export function countHumans(rows: readonly { user_agent: string }[]): number {
  return rows.filter(isHuman).length;
}

export function formatDay(day: Date): string {
  return format(day, "yyyy-MM-dd");
}
`,
  "pipelines/markers.ts": `export const BOT_MARKERS = ["bot", "crawler"];
export const UNUSED = 1;
`,
  "pipelines/more-helpers.ts": `export function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export function unrelated(): string {
  return "not used";
}
`,
  "node_modules/date-fns/package.json": `{ "name": "date-fns", "version": "3.6.0" }`,
};

// ---------------------------------------------------------------- tests

describe("createCodeFingerprinter", () => {
  it("lists the declarations and packages the transform reaches", () => {
    const code = project(BASE_FILES).codes().get("active_users")!;
    expect(code.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(code.declarations).toEqual([
      { file: "pipelines/helpers.ts", name: "countHumans", line: 9 },
      { file: "pipelines/helpers.ts", name: "isHuman", line: 4 },
      { file: "pipelines/markers.ts", name: "BOT_MARKERS", line: 1 },
      { file: "pipelines/more-helpers.ts", name: "round", line: 1 },
    ]);
    // date-fns is imported by helpers.ts, but only by formatDay, which the transform does not use.
    expect(code.packages).toEqual([]);
  });

  it("does not depend on where the project lies", () => {
    const first = project(BASE_FILES).codes();
    const second = project(BASE_FILES).codes();
    expect([...second]).toEqual([...first]);
  });

  describe("rule 1: comments and formatting do not count", () => {
    it("ignores comments, whitespace, line breaks, semicolons, quotes, trailing commas and parentheses", () => {
      const fixture = project(BASE_FILES);
      const before = fixture.hashes();
      fixture.write({
        "pipelines/active-users.ts": ACTIVE_USERS.replace(
          /  transform:[\s\S]*?\n  },\n/,
          `  // Counts people, not bots.
  transform: async ({ inputs, partition, }) =>
  {
    /* rows of the day */ const rows = ((await inputs.events.rows())).filter(row => (row.kind) !== 'test',)
    return [
      { day: partition.key, active_users: h.round(countHumans(rows),), },
    ]
  },
`,
        ),
        "pipelines/helpers.ts": fs
          .readFileSync(path.join(fixture.dir, "pipelines/helpers.ts"), "utf8")
          .replace("/** People, not bots. */\n", "// Humans only\n")
          .replace("return rows.filter(isHuman).length;", "return (rows.filter(isHuman)).length"),
      });
      expect(fixture.hashes()).toEqual(before);
    });

    it("treats equivalent spellings of the same value alike", () => {
      const hash = transformHasher();
      expect(hash(`() => 1000`)).toBe(hash(`() => 1_000`));
      expect(hash(`() => 1000`)).toBe(hash(`() => 0x3e8`));
      expect(hash(`() => ({ "a": 1 })`)).toBe(hash(`() => ({ a: 1 })`));
      expect(hash(`(x) => { const a = x; return a; }`)).toBe(hash(`(x) => {\n  const a = x\n  return a\n}`));
      expect(hash(`(x) => { f(x); }`)).toBe(hash(`(x) => { f(x);; }`));
      expect(hash(`(a, b) => (a + b) * 2`)).toBe(hash(`(a, b) => ((a + b)) * 2`));
    });

    it("counts every change of literal values, operators and declaration kinds", () => {
      const hash = transformHasher();
      const variants = [
        `(x) => x === "a"`,
        `(x) => x === "b"`,
        `(x) => x !== "a"`,
        `(x) => x === 1`,
        `(x) => x === 1.5`,
        `(x) => x === 1n`,
        `(x) => x === \`a\${x}b\``,
        `(x) => x === \`a\${x}c\``,
        `(x) => /a/.test(x)`,
        `(x) => /b/.test(x)`,
        `(x) => { let i = x; return ++i; }`,
        `(x) => { let i = x; return i++; }`,
        `(x) => { let i = x; return --i; }`,
        `(x) => { var i = x; return ++i; }`,
        `(x) => -x`,
        `(x) => +x`,
        `(x) => { for (x; ;) f(); }`,
        `(x) => { for (; x;) f(); }`,
        `(x) => ({ a: x, b: 1 })`,
        `(x) => ({ b: 1, a: x })`,
        `(x) => (a) + b * c`,
        `(x) => (a + b) * c`,
      ];
      const hashes = variants.map((variant) => hash(variant));
      expect(new Set(hashes).size).toBe(variants.length);
    });
  });

  describe("rule 2: local bindings are renamed, names of properties are not", () => {
    it("ignores renaming parameters, variables, destructured bindings, nested functions and catch variables", () => {
      const hash = transformHasher();
      const original = `async ({ inputs, partition }) => {
        function keyOf(row) { return row.user_id; }
        const seen = new Set();
        try { for (const row of await inputs.events.rows()) seen.add(keyOf(row)); } catch (error) { throw error; }
        const day = partition.key;
        return [{ day, users: seen.size }];
      }`;
      const renamed = `async ({ inputs: readers, partition: p }) => {
        function idOf(r) { return r.user_id; }
        const users = new Set();
        try { for (const event of await readers.events.rows()) users.add(idOf(event)); } catch (e) { throw e; }
        const d = p.key;
        return [{ day: d, users: users.size }];
      }`;
      expect(hash(renamed)).toBe(hash(original));
    });

    it("counts renamed properties, keys, labels and reordered keys", () => {
      const hash = transformHasher();
      const original = hash(`({ partition }) => { outer: for (const r of partition.rows) { if (r.ok) continue outer; } return [{ day: partition.key, n: 1 }]; }`);
      expect(hash(`({ partition }) => { outer: for (const r of partition.rows) { if (r.ok) continue outer; } return [{ day: partition.day, n: 1 }]; }`)).not.toBe(original);
      expect(hash(`({ partition }) => { outer: for (const r of partition.rows) { if (r.ok) continue outer; } return [{ date: partition.key, n: 1 }]; }`)).not.toBe(original);
      expect(hash(`({ partition }) => { outer: for (const r of partition.rows) { if (r.ok) continue outer; } return [{ n: 1, day: partition.key }]; }`)).not.toBe(original);
      expect(hash(`({ partition }) => { loop: for (const r of partition.rows) { if (r.ok) continue loop; } return [{ day: partition.key, n: 1 }]; }`)).not.toBe(original);
      expect(hash(`({ partitions }) => { outer: for (const r of partitions.rows) { if (r.ok) continue outer; } return [{ day: partitions.key, n: 1 }]; }`)).not.toBe(original);
    });

    it("serializes shorthand properties like the explicit form", () => {
      const hash = transformHasher();
      expect(hash(`({ inputs }) => inputs.a`)).toBe(hash(`({ inputs: x }) => x.a`));
      expect(hash(`(day) => [{ day }]`)).toBe(hash(`(d) => [{ day: d }]`));
      expect(hash(`(day) => [{ day }]`)).not.toBe(hash(`(d) => [{ date: d }]`));
      expect(hash(`({ a = 1 }) => a`)).toBe(hash(`({ a: b = 1 }) => b`));
    });

    it("tells which local is used where", () => {
      const hash = transformHasher();
      expect(hash(`(a, b) => a - b`)).not.toBe(hash(`(a, b) => b - a`));
    });
  });

  describe("rule 3: the closure of used declarations, across files", () => {
    const cases: [string, string, string, string, boolean][] = [
      ["a helper the transform calls", "pipelines/helpers.ts", "rows.filter(isHuman).length", "rows.filter(isHuman).length + 0", true],
      ["a helper called by that helper", "pipelines/helpers.ts", "row.user_agent.includes(marker)", "row.user_agent.startsWith(marker)", true],
      ["a constant in a third file", "pipelines/markers.ts", `["bot", "crawler"]`, `["bot", "spider"]`, true],
      ["a namespace member the transform uses", "pipelines/more-helpers.ts", "value * 100) / 100", "value * 10) / 10", true],
      ["an unrelated function in the helper's file", "pipelines/helpers.ts", `"yyyy-MM-dd"`, `"yyyyMMdd"`, false],
      ["an unrelated constant in an imported file", "pipelines/markers.ts", "UNUSED = 1", "UNUSED = 2", false],
      ["an unused member of a namespace import", "pipelines/more-helpers.ts", `"not used"`, `"still not used"`, false],
      ["the import of a package only unused code uses", "node_modules/date-fns/package.json", "3.6.0", "4.0.0", false],
    ];
    it.each(cases)("editing %s (%s)", (_what, file, from, to, changes) => {
      const fixture = project(BASE_FILES);
      const before = fixture.hashes();
      fixture.edit(file, from, to);
      const after = fixture.hashes();
      expect(after.active_users !== before.active_users).toBe(changes);
      expect(after.events).toBe(before.events);
    });

    const IMPORT_FILES = {
      "pipelines/revenue.ts": `import { dataset } from "@reflow/core";
import { scale as enlarge, trim, shout } from "./lib";
import tax from "./tax.js";
import { Kind, Money, type Row, type Totals } from "./kinds.js";

export const revenue = dataset("revenue", {
  transform: async ({ inputs }) => {
    const rows: Row[] = await inputs.orders.rows();
    let total = new Money(0);
    for (const row of rows) if (row.kind === Kind.Payment) total = total.add(new Money(enlarge(tax(row.cents))));
    const totals: Totals = { total: total.cents };
    return [{ label: shout(trim(" revenue ")), ...totals }];
  },
});
`,
      "pipelines/lib/index.ts": `export { scale } from "./scale.js";
export * from "./strings.js";
export { default as shout } from "./shout.js";
`,
      "pipelines/lib/scale.ts": `export const FACTOR = 2;
export function scale(n: number): number { return n * FACTOR; }
export function unscale(n: number): number { return n / FACTOR; }
`,
      "pipelines/lib/strings.ts": `export function trim(s: string): string { return s.trim(); }
export function pad(s: string): string { return s.padStart(2); }
`,
      "pipelines/lib/shout.ts": `export default function shout(s: string): string { return s.toUpperCase(); }
`,
      "pipelines/tax.ts": `const RATE = 0.2;
export default (cents: number) => Math.round(cents * (1 + RATE));
export function unused(): number { return RATE; }
`,
      "pipelines/kinds.ts": `export enum Kind { Payment = "payment", Refund = "refund" }
export class Money {
  constructor(readonly cents: number) {}
  add(other: Money): Money { return new Money(this.cents + other.cents); }
}
export type Row = { kind: Kind; cents: number };
export interface Totals { total: number }
export type Unused = string;
`,
    };
    const importCases: [string, string, string, string, boolean][] = [
      ["an aliased import through a directory index and a named re-export", "pipelines/lib/scale.ts", "n * FACTOR", "n * FACTOR * 1", true],
      ["a constant used by a re-exported function", "pipelines/lib/scale.ts", "FACTOR = 2", "FACTOR = 3", true],
      ["a function reached through export *", "pipelines/lib/strings.ts", "s.trim()", "s.trimEnd()", true],
      ["a default export re-exported by name", "pipelines/lib/shout.ts", "toUpperCase", "toLowerCase", true],
      ["a default-imported expression", "pipelines/tax.ts", "Math.round", "Math.floor", true],
      ["a constant used by a default export", "pipelines/tax.ts", "RATE = 0.2", "RATE = 0.25", true],
      ["an enum", "pipelines/kinds.ts", `Payment = "payment"`, `Payment = "paid"`, true],
      ["a class", "pipelines/kinds.ts", "this.cents + other.cents", "other.cents + this.cents", true],
      ["a type alias", "pipelines/kinds.ts", "cents: number }", "cents: bigint }", true],
      ["an interface", "pipelines/kinds.ts", "total: number", "total: bigint", true],
      ["an unused function next to a re-exported one", "pipelines/lib/scale.ts", "n / FACTOR", "n / FACTOR / 1", false],
      ["an unused function in a star-exported module", "pipelines/lib/strings.ts", "padStart(2)", "padStart(3)", false],
      ["an unused function next to a default export", "pipelines/tax.ts", "return RATE;", "return RATE * 2;", false],
      ["an unused type", "pipelines/kinds.ts", "Unused = string", "Unused = number", false],
    ];
    it.each(importCases)("editing %s (%s)", (_what, file, from, to, changes) => {
      const fixture = project(IMPORT_FILES);
      const before = fixture.codes().get("revenue")!;
      fixture.edit(file, from, to);
      const after = fixture.codes().get("revenue")!;
      expect(after.hash !== before.hash).toBe(changes);
    });

    it("lists declarations reached through every import form", () => {
      const code = project(IMPORT_FILES).codes().get("revenue")!;
      expect(code.declarations.map((d) => `${d.file}#${d.name}`)).toEqual([
        "pipelines/kinds.ts#Kind",
        "pipelines/kinds.ts#Money",
        "pipelines/kinds.ts#Row",
        "pipelines/kinds.ts#Totals",
        "pipelines/lib/scale.ts#FACTOR",
        "pipelines/lib/scale.ts#scale",
        "pipelines/lib/shout.ts#shout",
        "pipelines/lib/strings.ts#trim",
        "pipelines/tax.ts#RATE",
        "pipelines/tax.ts#default",
      ]);
    });

    it("includes a whole module a namespace import passes around, and modules loaded with import()", () => {
      const fixture = project({
        "pipelines/ns.ts": `import { dataset } from "@reflow/core";
import * as h from "./h.js";
export const whole = dataset("whole", { transform: () => Object.keys(h) });
export const lazy = dataset("lazy", { transform: async () => (await import("./h.js")).a() });
`,
        "pipelines/h.ts": `export function a() { return 1; }\nexport function b() { return 2; }\n`,
      });
      const before = fixture.hashes();
      fixture.edit("pipelines/h.ts", "return 2", "return 3");
      const after = fixture.hashes();
      expect(after.whole).not.toBe(before.whole);
      expect(after.lazy).not.toBe(before.lazy);
    });
  });

  describe("rule 4: where the transform is", () => {
    const FORMS = {
      "pipelines/forms.ts": `import { dataset, source } from "@reflow/core";
import { summarize } from "./summarize.js";

function helper(rows: unknown[]): number { return rows.length; }
async function buildTotals({ inputs }) { return [{ n: helper(await inputs.a.rows()) }]; }
const transform = ({ partition }) => [{ day: partition.key, n: helper([]) }];

export const inline = dataset("inline", { transform: () => [{ n: helper([]) }] });
export const byName = dataset("by_name", { transform: buildTotals });
export const imported = dataset("imported", { transform: summarize });
export const shorthand = dataset("shorthand", { transform });
export const method = dataset("method", { transform() { return [{ n: helper([]) }]; } });
export const raw = source("raw", { read: () => [{ n: helper([]) }] });
`,
      "pipelines/summarize.ts": `export function summarize() { return [{ n: 0 }]; }\nexport function other() { return 1; }\n`,
    };
    const changedBy = (file: string, from: string, to: string): string[] => {
      const fixture = project(FORMS);
      const before = fixture.hashes();
      fixture.edit(file, from, to);
      const after = fixture.hashes();
      return Object.keys(before).filter((name) => after[name] !== before[name]).sort();
    };

    it("follows inline functions, names of functions and constants, imports, shorthand properties and methods", () => {
      expect(changedBy("pipelines/forms.ts", "return rows.length", "return rows.length + 1")).toEqual([
        "by_name",
        "inline",
        "method",
        "raw",
        "shorthand",
      ]);
      expect(changedBy("pipelines/forms.ts", "inputs.a.rows()", "inputs.b.rows()")).toEqual(["by_name"]);
      expect(changedBy("pipelines/summarize.ts", "n: 0", "n: 1")).toEqual(["imported"]);
      expect(changedBy("pipelines/summarize.ts", "return 1", "return 2")).toEqual([]);
      expect(changedBy("pipelines/forms.ts", "day: partition.key", "day: partition.key.slice(0, 7)")).toEqual(["shorthand"]);
    });

    it("lists what a named transform reaches", () => {
      expect(project(FORMS).codes().get("by_name")!.declarations).toEqual([
        { file: "pipelines/forms.ts", name: "buildTotals", line: 5 },
        { file: "pipelines/forms.ts", name: "helper", line: 4 },
      ]);
    });
  });

  describe("rule 5: only the declaration's own code", () => {
    const FILES = {
      "pipelines/a.ts": `import { dataset, daily } from "@reflow/core";
import { z } from "zod";
export const a = dataset("a", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ n: z.number() }),
  transform: () => [{ n: 1 }],
});
`,
      "pipelines/b.ts": `import { dataset, daily } from "@reflow/core";
import { z } from "zod";
import { a } from "./a.js";
export const b = dataset("b", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { a },
  schema: z.object({ n: z.number(), from: z.string() }),
  transform: async ({ inputs }) => [{ n: (await inputs.a.rows()).length, from: a.name }],
});
`,
    };

    it("counts another dataset used by the transform by name only", () => {
      const fixture = project(FILES);
      const before = fixture.codes();
      expect(before.get("b")!.declarations).toEqual([]);
      fixture.edit("pipelines/a.ts", "[{ n: 1 }]", "[{ n: 2 }]");
      const after = fixture.codes();
      expect(after.get("a")!.hash).not.toBe(before.get("a")!.hash);
      expect(after.get("b")!.hash).toBe(before.get("b")!.hash);
    });

    it("ignores the rest of the options object", () => {
      const fixture = project(FILES);
      const before = fixture.hashes();
      fixture.edit("pipelines/b.ts", `start: "2024-01-01"`, `start: "2023-01-01"`);
      fixture.edit("pipelines/b.ts", "from: z.string()", "from: z.string().min(1)");
      fixture.edit("pipelines/b.ts", "inputs: { a },", "inputs: { a, other: a },");
      expect(fixture.hashes()).toEqual(before);
    });

    it("treats a dataset's declaration as ordinary code when that dataset is not fingerprinted in the same call", () => {
      const fixture = project(FILES);
      const b = fixture.targets().filter((target) => target.name === "b");
      expect(fixture.codes({ targets: b }).get("b")!.declarations).toEqual([{ file: "pipelines/a.ts", name: "a", line: 3 }]);
    });
  });

  describe("rule 6: npm packages by version, builtins by name", () => {
    const FILES = {
      "pipelines/p.ts": `import { dataset } from "@reflow/core";
import { format } from "date-fns/format";
import { parse } from "@acme/dates/parse";
import { missing } from "not-installed";
import { createHash } from "node:crypto";
import { readFileSync } from "fs";
import { unusedThing } from "lodash";

function digest(text: string): string { return createHash("sha256").update(text).digest("hex"); }
export function unused() { return unusedThing(); }

export const p = dataset("p", {
  transform: ({ partition }) => [{ day: format(parse(partition.key), "yyyy"), d: digest(readFileSync("x", "utf8")), m: missing }],
});
`,
      "node_modules/date-fns/package.json": `{ "name": "date-fns", "version": "3.6.0" }`,
      "pipelines/node_modules/date-fns/package.json": `{ "name": "date-fns", "version": "4.1.0" }`,
      "node_modules/@acme/dates/package.json": `{ "name": "@acme/dates", "version": "1.2.0" }`,
      "node_modules/lodash/package.json": `{ "name": "lodash", "version": "4.17.21" }`,
    };

    it("lists referenced packages with the version nearest the importing file", () => {
      expect(project(FILES).codes().get("p")!.packages).toEqual([
        { name: "@acme/dates", version: "1.2.0" },
        { name: "date-fns", version: "4.1.0" },
        { name: "not-installed", version: "unknown" },
      ]);
    });

    const cases: [string, string, string, string, boolean][] = [
      ["the version of a referenced package", "pipelines/node_modules/date-fns/package.json", "4.1.0", "4.2.0", true],
      ["the version of a scoped package", "node_modules/@acme/dates/package.json", "1.2.0", "1.3.0", true],
      ["the version of a package shadowed by a nearer copy", "node_modules/date-fns/package.json", "3.6.0", "3.7.0", false],
      ["the version of a package only unused code imports", "node_modules/lodash/package.json", "4.17.21", "4.17.22", false],
      ["the builtin module imported", "pipelines/p.ts", `from "fs"`, `from "node:os"`, true],
      ["the spelling of a builtin", "pipelines/p.ts", `from "node:crypto"`, `from "crypto"`, false],
    ];
    it.each(cases)("editing %s (%s)", (_what, file, from, to, changes) => {
      const fixture = project(FILES);
      const before = fixture.hashes();
      fixture.edit(file, from, to);
      expect(fixture.hashes().p !== before.p).toBe(changes);
    });
  });

  describe("rule 7: globals and unresolved names are text", () => {
    it("counts a change of global or unresolved name", () => {
      const hash = transformHasher();
      expect(hash(`(x) => Number(x)`)).not.toBe(hash(`(x) => String(x)`));
      expect(hash(`() => Math.max(1, 2)`)).not.toBe(hash(`() => Math.min(1, 2)`));
      expect(hash(`() => console.log(JSON.stringify(undefined))`)).not.toBe(hash(`() => console.log(JSON.stringify(null))`));
      expect(hash(`() => fetchRows()`)).not.toBe(hash(`() => loadRows()`));
      expect(hash(`() => fetchRows()`)).not.toBe(hash(`(fetchRows) => fetchRows()`));
    });
  });

  describe("rule 8: finding the declaration", () => {
    it("tells apart several declarations on one line by name", () => {
      const fixture = project({
        "pipelines/pair.ts": `import { dataset } from "@reflow/core";
export const x = dataset("x", { transform: () => [1] }), y = dataset("y", { transform: () => [2] });
export const z = dataset("z", { transform: () => [1] });
`,
      });
      const hashes = fixture.hashes();
      expect(hashes.x).toBe(hashes.z);
      expect(hashes.y).not.toBe(hashes.x);
    });

    it("falls back to the nearest column when the name is computed", () => {
      const fixture = project({
        "pipelines/computed.ts": `import { dataset } from "@reflow/core";
const X = "x", Y = "y";
export const x = dataset(X, { transform: () => [1] }), y = dataset(Y, { transform: () => [2] });
`,
      });
      const file = path.join(fixture.dir, "pipelines/computed.ts");
      const line = 3;
      const codes = fixture.codes({
        targets: [
          { name: "x", file, line, column: 19, property: "transform" },
          { name: "y", file, line, column: 62, property: "transform" },
          { name: "only_line", file, line, property: "transform" },
        ],
      });
      const reference = transformHasher();
      expect(codes.get("x")!.hash).toBe(reference(`() => [1]`));
      expect(codes.get("y")!.hash).toBe(reference(`() => [2]`));
      expect(codes.get("only_line")!.hash).toBe(codes.get("x")!.hash);
    });

    it("without call frames, fingerprints a declaration made by a factory by its own code, the factory's parameters as text", () => {
      const fixture = project({
        "pipelines/factory.ts": `import { dataset } from "@reflow/core";
import { clean } from "./clean.js";
export const all = ["a", "b"].map((name) =>
  dataset(name, { transform: ({ partition }) => [{ name, day: clean(partition.key) }] }),
);
`,
        "pipelines/clean.ts": `export function clean(key: string): string { return key.trim(); }\n`,
      });
      const file = path.join(fixture.dir, "pipelines/factory.ts");
      const targets = ["a", "b"].map((name) => ({ name, file, line: 4, column: 3, property: "transform" }));
      const before = fixture.codes({ targets });
      expect(before.get("a")!.hash).toBe(before.get("b")!.hash);
      expect(before.get("a")!.declarations).toEqual([{ file: "pipelines/clean.ts", name: "clean", line: 1 }]);
      fixture.edit("pipelines/clean.ts", "key.trim()", "key.trimEnd()");
      expect(fixture.codes({ targets }).get("a")!.hash).not.toBe(before.get("a")!.hash);
    });

    it("finds a declaration by its unique name when the line is off", () => {
      const fixture = project(BASE_FILES);
      const [target] = fixture.targets().filter((t) => t.name === "active_users");
      const hash = fixture.codes().get("active_users")!.hash;
      expect(fixture.codes({ targets: [{ ...target!, line: target!.line + 2 }] }).get("active_users")!.hash).toBe(hash);
    });

    it("reports a declaration it cannot find", () => {
      const fixture = project(BASE_FILES);
      const file = path.join(fixture.dir, "pipelines/active-users.ts");
      expect(errorOf(() => fixture.codes({ targets: [{ name: "nope", file, line: 3, column: 1, property: "transform" }] }))).toEqual({
        code: "REFLOW_FINGERPRINT_FAILED",
        message: 'pipelines/active-users.ts:3: dataset "nope": could not find the transform of this declaration in the source',
      });
      expect(errorOf(() => fixture.codes({ targets: [{ name: "active_users", file, line: 7, property: "read" }] }))).toEqual({
        code: "REFLOW_FINGERPRINT_FAILED",
        message: 'pipelines/active-users.ts:7: dataset "active_users": could not find the read of this declaration in the source',
      });
    });
  });

  describe("rule 9: syntax errors", () => {
    it("names the file, line, column and problem", () => {
      const fixture = project(BASE_FILES);
      fixture.edit("pipelines/helpers.ts", "return rows.filter(isHuman).length;", "return rows.filter(isHuman.length;");
      expect(errorOf(() => fixture.codes())).toEqual({
        code: "REFLOW_FINGERPRINT_FAILED",
        message: "pipelines/helpers.ts:10:36: cannot fingerprint code with a syntax error: ')' expected.",
      });
    });

    it("does not mind a broken file whose code the transforms do not use", () => {
      const fixture = project({
        ...BASE_FILES,
        "pipelines/broken.ts": "export const broken = (;\n",
      });
      const before = fixture.hashes();
      fixture.edit("pipelines/active-users.ts", `import { events } from "./events.js";`, `import { events } from "./events.js";\nimport "./broken.js";`);
      expect(fixture.hashes()).toEqual(before);
    });
  });

  describe("rule 10: factories fingerprint the factory and the call that made each dataset", () => {
    const FILES = {
      "pipelines/regional.ts": `import { dataset } from "@reflow/core";
import { round } from "./round.js";

function makeRegional(region: string, rate: number) {
  const factor = 1 + rate;
  return dataset(\`\${region}_revenue\`, {
    transform: () => [{ region, total: round(100 * factor) }],
  });
}

export const eu = makeRegional("eu", 0.2);
export const us = makeRegional("us", 0.1);
for (const [region, rate] of [["jp", 0.1], ["uk", 0.2]] as const) makeRegional(region, rate);
export const plain = dataset("plain", { transform: () => [{ total: round(1) }] });
`,
      "pipelines/round.ts": `export function round(n: number): number { return Math.round(n); }\n`,
    };
    /** The frames the runtime reports: the dataset() call in the factory, then the factory's caller. */
    const targets = (fixture: Fixture): FingerprintTarget[] => {
      const file = path.join(fixture.dir, "pipelines/regional.ts");
      const lines = fs.readFileSync(file, "utf8").split("\n");
      // The line holding `marker`, at the column of `text` in it.
      const at = (marker: string, text: string) => {
        const index = lines.findIndex((line) => line.includes(marker));
        return { file, line: index + 1, column: lines[index]!.indexOf(text) + 1 };
      };
      const made = (name: string, caller: string) => ({
        name,
        ...at("return dataset(", "dataset("),
        property: "transform",
        callStack: [at("return dataset(", "dataset("), at(caller, "makeRegional(")],
      });
      return [
        made("eu_revenue", `"eu"`),
        made("us_revenue", `"us"`),
        made("jp_revenue", `for (`),
        made("uk_revenue", `for (`),
        { name: "plain", ...at(`"plain"`, "dataset("), property: "transform" },
      ];
    };
    const changedBy = (file: string, from: string, to: string): string[] => {
      const fixture = project(FILES);
      const before = fixture.codes({ targets: targets(fixture) });
      fixture.edit(file, from, to);
      const after = fixture.codes({ targets: targets(fixture) });
      return [...before.keys()].filter((name) => after.get(name)!.hash !== before.get(name)!.hash).sort();
    };

    it("changes only the dataset whose call's argument changed", () => {
      expect(changedBy("pipelines/regional.ts", `makeRegional("eu", 0.2)`, `makeRegional("eu", 0.25)`)).toEqual(["eu_revenue"]);
      expect(changedBy("pipelines/regional.ts", `makeRegional("us", 0.1)`, `makeRegional("us", 0.1 + 0)`)).toEqual(["us_revenue"]);
    });

    it("changes every dataset the factory makes when its body or what it uses changes", () => {
      const all = ["eu_revenue", "jp_revenue", "uk_revenue", "us_revenue"];
      expect(changedBy("pipelines/regional.ts", "1 + rate", "1 - rate")).toEqual(all);
      expect(changedBy("pipelines/round.ts", "Math.round", "Math.floor")).toEqual([...all, "plain"].sort());
    });

    it("counts a loop by its whole statement: its calls cannot be told apart without running it", () => {
      expect(changedBy("pipelines/regional.ts", `["jp", 0.1]`, `["jp", 0.15]`)).toEqual(["jp_revenue", "uk_revenue"]);
    });

    it("ignores renaming the factory's parameters and locals, and edits around the calls", () => {
      expect(changedBy("pipelines/regional.ts", "rate: number) {\n  const factor = 1 + rate;", "r: number) {\n  const factor = 1 + r;")).toEqual([]);
      expect(changedBy("pipelines/regional.ts", "function makeRegional(region: string", "function makeRegional(place: string")).not.toEqual([]);
      const fixture = project(FILES);
      const before = fixture.codes({ targets: targets(fixture) });
      fixture.write({
        "pipelines/regional.ts": fs
          .readFileSync(path.join(fixture.dir, "pipelines/regional.ts"), "utf8")
          .replace("makeRegional(region: string", "makeRegional(place: string")
          .replace("`${region}_revenue`", "`${place}_revenue`")
          .replace("[{ region, total", "[{ region: place, total"),
      });
      const after = fixture.codes({ targets: targets(fixture) });
      expect(after.get("eu_revenue")!.hash).toBe(before.get("eu_revenue")!.hash);
      expect(after.get("jp_revenue")!.hash).toBe(before.get("jp_revenue")!.hash);
      expect(changedBy("pipelines/regional.ts", "const factor = 1 + rate;", "const factor = 1 + rate; // why")).toEqual([]);
      expect(changedBy("pipelines/regional.ts", "export const eu = ", "/** Europe */\nexport const eu = ")).toEqual([]);
    });

    it("lists the factory and the call among the declarations", () => {
      const fixture = project(FILES);
      const codes = fixture.codes({ targets: targets(fixture) });
      expect(codes.get("eu_revenue")!.declarations).toEqual([
        { file: "pipelines/regional.ts", name: "makeRegional", line: 4 },
        { file: "pipelines/regional.ts", name: "makeRegional(…)", line: 11 },
        { file: "pipelines/round.ts", name: "round", line: 1 },
      ]);
      expect(codes.get("jp_revenue")!.declarations.map((d) => d.name)).toEqual(["makeRegional", "statement", "round"]);
      expect(codes.get("plain")!.declarations.map((d) => d.name)).toEqual(["round"]);
    });

    it("keeps the printed source of each part, without comments", () => {
      const fixture = project(FILES);
      const code = fixture.codes({ targets: targets(fixture) }).get("eu_revenue")!;
      const factory = code.sources[code.declarationHashes["pipelines/regional.ts#makeRegional"]!];
      expect(factory).toContain("const factor = 1 + rate;");
      expect(code.sources[code.declarationHashes["pipelines/regional.ts#makeRegional(…)"]!]).toBe(`makeRegional("eu", 0.2)`);
      expect(code.sources[code.unitHash]).toBe("() => [{ region, total: round(100 * factor) }]");
    });
  });

  describe("rule 11: process.env reads", () => {
    it("lists the variables the code and its closure read, by file and line", () => {
      const fixture = project({
        "pipelines/env.ts": `import { dataset } from "@reflow/core";
import { rate, unused } from "./rate.js";
const key = "DYNAMIC";
export const e = dataset("e", {
  transform: () => {
    const { REGION, LIMIT: limit } = process.env;
    return [{ rate: rate(), region: REGION, limit, mode: process.env["MODE"], other: process.env[key], all: { ...process.env } }];
  },
});
export const local = dataset("local", { transform: (process: { env: { X: string } }) => [{ x: process.env.X }] });
`,
        "pipelines/rate.ts": `export function rate(): number { return Number(process.env.TAX_RATE ?? "0"); }
export function unused(): string | undefined { return process.env.UNUSED; }
`,
      });
      const codes = fixture.codes();
      expect(codes.get("e")!.env).toEqual([
        { file: "pipelines/env.ts", line: 6, name: "LIMIT" },
        { file: "pipelines/env.ts", line: 6, name: "REGION" },
        { file: "pipelines/env.ts", line: 7, name: "*" },
        { file: "pipelines/env.ts", line: 7, name: "MODE" },
        { file: "pipelines/rate.ts", line: 1, name: "TAX_RATE" },
      ]);
      expect(codes.get("local")!.env).toEqual([]);
    });
  });

  describe("more of what counts", () => {
    it("counts object and array constants, and keys reordered in them", () => {
      const hash = transformHasher();
      const prelude = `const RATES = { eu: 0.2, us: [0.1, 0.05] };`;
      const original = hash(`() => [RATES]`, prelude);
      expect(hash(`() => [RATES]`, `const RATES = { us: [0.1, 0.05], eu: 0.2 };`)).not.toBe(original);
      expect(hash(`() => [RATES]`, `const RATES = { eu: 0.2, us: [0.05, 0.1] };`)).not.toBe(original);
      expect(hash(`() => [RATES]`, `// rates\nconst RATES = {\n  eu: 0.2,\n  us: [0.1, 0.05],\n};`)).toBe(original);
    });

    it("counts a package only for the transforms that import it, through any file", () => {
      const fixture = project({
        "pipelines/a.ts": `import { dataset } from "@reflow/core";
import { fmt } from "./fmt.js";
export const a = dataset("a", { transform: () => [{ d: fmt(1) }] });
`,
        "pipelines/b.ts": `import { dataset } from "@reflow/core";
export const b = dataset("b", { transform: () => [{ d: 1 }] });
`,
        "pipelines/fmt.ts": `import { format } from "date-fns";\nexport const fmt = (n: number) => format(n, "yyyy");\n`,
        "node_modules/date-fns/package.json": `{ "name": "date-fns", "version": "3.6.0" }`,
      });
      const before = fixture.hashes();
      fixture.edit("node_modules/date-fns/package.json", "3.6.0", "3.6.1");
      const after = fixture.hashes();
      expect(after.a).not.toBe(before.a);
      expect(after.b).toBe(before.b);
    });
  });

  describe("the summary cache", () => {
    it("parses nothing on a warm run and re-analyses only a changed file", () => {
      const fixture = project(BASE_FILES);
      const cacheFile = path.join(fixture.dir, ".reflow/cache/fingerprints.json");
      const cold = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      const first = cold.fingerprint(fixture.targets());
      expect([...cold.stats().analysedFiles].sort()).toEqual([
        "pipelines/active-users.ts",
        "pipelines/events.ts",
        "pipelines/helpers.ts",
        "pipelines/markers.ts",
        "pipelines/more-helpers.ts",
      ]);
      expect(fs.existsSync(cacheFile)).toBe(true);

      const warm = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      expect([...warm.fingerprint(fixture.targets())]).toEqual([...first]);
      expect(warm.stats().analysedFiles).toEqual([]);

      fixture.edit("pipelines/markers.ts", `"crawler"`, `"spider"`);
      const edited = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      const second = edited.fingerprint(fixture.targets());
      expect(edited.stats().analysedFiles).toEqual(["pipelines/markers.ts"]);
      expect(second.get("active_users")!.hash).not.toBe(first.get("active_users")!.hash);
      expect(second.get("active_users")!.hash).toBe(project(snapshot(fixture.dir)).codes().get("active_users")!.hash);
    });

    it("keeps a summary per line of one JSON object, and writes back the lines of unchanged files as they were", () => {
      const fixture = project(BASE_FILES);
      const cacheFile = path.join(fixture.dir, "cache.json");
      createCodeFingerprinter({ projectDir: fixture.dir, cacheFile }).fingerprint(fixture.targets());
      const before = fs.readFileSync(cacheFile, "utf8");
      const cache = JSON.parse(before) as { version: string; files: Record<string, unknown> };
      const lines = before.split("\n");
      expect(lines[0]).toBe(`{"version":${JSON.stringify(cache.version)},"files":{`);
      expect(lines.slice(-2)).toEqual(["}}", ""]);
      expect(lines.slice(1, -2)).toEqual(Object.entries(cache.files).map(([file, summary], i, all) => `${JSON.stringify(file)}:${JSON.stringify(summary)}${i < all.length - 1 ? "," : ""}`));

      fixture.edit("pipelines/markers.ts", `"crawler"`, `"spider"`);
      const edited = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      edited.fingerprint(fixture.targets());
      expect(edited.stats().analysedFiles).toEqual(["pipelines/markers.ts"]);
      const after = fs.readFileSync(cacheFile, "utf8").split("\n");
      const changed = after.filter((line) => !lines.includes(line));
      expect(changed).toHaveLength(1);
      expect(changed[0]).toContain(JSON.stringify(path.join(fixture.dir, "pipelines/markers.ts")));
      expect(after).toHaveLength(lines.length);
    });

    it("reads a cache written as one line of JSON (by an older reflow)", () => {
      const fixture = project(BASE_FILES);
      const cacheFile = path.join(fixture.dir, "cache.json");
      const expected = fixture.codes({ cacheFile });
      fs.writeFileSync(cacheFile, JSON.stringify(JSON.parse(fs.readFileSync(cacheFile, "utf8"))));
      const warm = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      expect([...warm.fingerprint(fixture.targets())]).toEqual([...expected]);
      expect(warm.stats().analysedFiles).toEqual([]);
    });

    it("reads a cache of non-ASCII sources, and lines of other shapes holding the same JSON", () => {
      const fixture = project(BASE_FILES);
      fixture.edit("pipelines/markers.ts", `"crawler"`, `"crawlér ✓"`);
      const cacheFile = path.join(fixture.dir, "cache.json");
      const expected = fixture.codes({ cacheFile });
      expect(fs.readFileSync(cacheFile, "utf8")).toContain("crawlér ✓");
      const warm = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      expect([...warm.fingerprint(fixture.targets())]).toEqual([...expected]);
      expect(warm.stats().analysedFiles).toEqual([]);
      // Two files' members on one line, and a key escaped as JSON may escape it.
      const lines = fs.readFileSync(cacheFile, "utf8").split("\n");
      lines.splice(1, 2, `${lines[1]}${lines[2]!.replace(/^"\//, '"\\u002f')}`);
      fs.writeFileSync(cacheFile, lines.join("\n"));
      const merged = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      expect([...merged.fingerprint(fixture.targets())]).toEqual([...expected]);
      expect(merged.stats().analysedFiles).toEqual([]);
    });

    it("re-reads files on every call of the same fingerprinter", () => {
      const fixture = project(BASE_FILES);
      const fingerprinter = createCodeFingerprinter({ projectDir: fixture.dir });
      const first = fingerprinter.fingerprint(fixture.targets()).get("active_users")!.hash;
      fixture.edit("pipelines/helpers.ts", "rows.filter(isHuman).length", "rows.filter(isHuman).length + 1");
      expect(fingerprinter.fingerprint(fixture.targets()).get("active_users")!.hash).not.toBe(first);
      expect(fingerprinter.stats().analysedFiles.filter((file) => file === "pipelines/helpers.ts")).toHaveLength(2);
    });

    it("ignores summaries cached by another analyzer version", () => {
      const fixture = project(BASE_FILES);
      const cacheFile = path.join(fixture.dir, "cache.json");
      const expected = fixture.codes({ cacheFile });
      const cache = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { version: string; files: Record<string, { declarations: { hash: string }[] }> };
      for (const summary of Object.values(cache.files)) for (const declaration of summary.declarations) declaration.hash = "0".repeat(64);
      fs.writeFileSync(cacheFile, JSON.stringify({ ...cache, version: "0 ts-morph@0.0.0" }));
      const fingerprinter = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      expect([...fingerprinter.fingerprint(fixture.targets())]).toEqual([...expected]);
      expect(fingerprinter.stats().analysedFiles).toHaveLength(5);
    });

    it("survives a corrupt cache file", () => {
      const fixture = project(BASE_FILES);
      const cacheFile = path.join(fixture.dir, "cache.json");
      fs.writeFileSync(cacheFile, "{ not json");
      const expected = fixture.codes();
      expect([...fixture.codes({ cacheFile })]).toEqual([...expected]);
      const warm = createCodeFingerprinter({ projectDir: fixture.dir, cacheFile });
      warm.fingerprint(fixture.targets());
      expect(warm.stats().analysedFiles).toEqual([]);
    });
  });
});

/** The project's files, to copy it. */
function snapshot(dir: string, prefix = ""): Record<string, string> {
  return Object.fromEntries(
    fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
      const file = path.posix.join(prefix, entry.name);
      return entry.isDirectory() ? Object.entries(snapshot(dir, file)) : [[file, fs.readFileSync(path.join(dir, file), "utf8")]];
    }),
  );
}
