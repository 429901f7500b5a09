import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createCodeFingerprinter } from "../src/code-fingerprinter.js";
import type { CompiledDataset } from "../src/compiled-project.js";
import type { FingerprintManifest } from "../src/fingerprint-manifest.js";
import { addedOptionalFields, detectNonBreaking } from "../src/non-breaking-change.js";

const schemaJson = (shape: z.ZodRawShape) => JSON.stringify(z.toJSONSchema(z.object(shape), { io: "output", unrepresentable: "any" }));
const BASE = { user_id: z.string(), amount: z.number().int() };

describe("addedOptionalFields", () => {
  it("lists the optional fields a schema adds, and nothing for any other change", () => {
    const before = schemaJson(BASE);
    expect(addedOptionalFields(before, schemaJson({ ...BASE, channel: z.string().optional(), region: z.string().nullish() }))).toEqual(["channel", "region"]);
    expect(addedOptionalFields(before, schemaJson({ ...BASE, channel: z.string() }))).toBeUndefined();
    expect(addedOptionalFields(before, schemaJson({ user_id: z.string(), amount: z.number() }))).toBeUndefined();
    expect(addedOptionalFields(before, schemaJson({ user_id: z.string(), channel: z.string().optional() }))).toBeUndefined();
    expect(addedOptionalFields(before, before)).toBeUndefined();
  });
});

describe("detectNonBreaking", () => {
  const before: FingerprintManifest = {
    code: "c1",
    declarations: [],
    packages: [],
    version: 0,
    schema: schemaJson(BASE),
    partitions: '{"kind":"unpartitioned"}',
    inputs: "[]",
  };
  const after = { ...before, schema: schemaJson({ ...BASE, channel: z.string().optional() }) };
  const changed = { name: "events", manifest: after } as unknown as CompiledDataset;
  const reader = (name: string, words: string[], extra: { columns?: string[]; packages?: string[] } = {}) =>
    ({
      name,
      columns: (extra.columns ?? ["day"]).map((column) => ({ name: column })),
      code: { words: new Set(words), packages: (extra.packages ?? []).map((p) => ({ name: p, version: "1.0.0" })) },
    }) as unknown as CompiledDataset;

  it("is non-breaking when only optional fields are added and no reader can read them", () => {
    expect(detectNonBreaking(before, changed, [reader("revenue", ["amount", "rows", "total"])])).toEqual({
      nonBreaking: true,
      why: "auto: adds optional column `channel`; no reader references it",
    });
    expect(detectNonBreaking(before, changed, [])).toEqual({ nonBreaking: true, why: "auto: adds optional column `channel`; it has no readers" });
  });

  it("is breaking, saying why, when a reader may read a new field or anything but the schema changed", () => {
    const breaking = (why: string) => ({ nonBreaking: false, why: `adds optional column \`channel\`, but ${why}` });
    expect(detectNonBreaking(before, changed, [reader("revenue", ["amount"]), reader("by_channel", ["channel"])])).toEqual(breaking("by_channel references `channel`"));
    expect(detectNonBreaking(before, changed, [reader("copy", ["rows"], { columns: ["channel"] })])).toEqual(breaking("copy declares a column `channel`"));
    expect(detectNonBreaking(before, changed, [reader("dump", ["JSON", "stringify"])])).toEqual(breaking("dump may read every field (`stringify`)"));
    expect(detectNonBreaking(before, changed, [reader("loop", ["#for-in"])])).toEqual(breaking("loop may read every field (for…in)"));
    expect(detectNonBreaking(before, changed, [reader("lib", ["pick"], { packages: ["lodash"] })])).toEqual(breaking("lib hands data to package lodash, which may read any field"));
    const codeToo = { name: "events", manifest: { ...after, code: "c2" } } as unknown as CompiledDataset;
    expect(detectNonBreaking(before, codeToo, [])).toEqual(breaking("its transform's code changed too"));
    const required = { name: "events", manifest: { ...before, schema: schemaJson({ ...BASE, channel: z.string() }) } } as unknown as CompiledDataset;
    expect(detectNonBreaking(before, required, [])).toEqual({ nonBreaking: false });
  });
});

describe("code words", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reflow-words-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("hold the identifiers and literal texts of a transform and of the helpers it reaches, but not of others", () => {
    fs.writeFileSync(
      path.join(dir, "p.ts"),
      [
        'const pickRegion = (row: { region?: string }) => row.region ?? "none";',
        "const unused = (row: { secret: string }) => row.secret;",
        'export const x = dataset("x", {',
        '  transform: async ({ inputs }) => (await inputs.e.rows()).map((r) => ({ c: r["country"], d: `${r.city}`, r: pickRegion(r) })),',
        "});",
        "",
      ].join("\n"),
    );
    const codes = createCodeFingerprinter({ projectDir: dir }).fingerprint([{ name: "x", file: path.join(dir, "p.ts"), line: 3, property: "transform" }]);
    const words = codes.get("x")!.words;
    for (const word of ["country", "city", "region", "pickRegion", "rows"]) expect(words.has(word)).toBe(true);
    expect(words.has("secret")).toBe(false);
  });
});
