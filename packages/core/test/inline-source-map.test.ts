import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { parseSourceMap, readInlineSourceMap } from "../src/inline-source-map.js";

const dir = mkdtempSync(path.join(tmpdir(), "reflow-inline-map-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Entry = readonly [source: string, line: number, column: number] | null;

/** Every position of the file (and one past each line's end), as Node maps it: the module imported with source maps on. */
function nodeEntries(file: string): Entry[] {
  const script = path.join(dir, "node-entries.mjs");
  writeFileSync(
    script,
    `import { findSourceMap } from "node:module";
import { readFileSync } from "node:fs";
const url = process.argv[2];
await import(url);
const map = findSourceMap(url);
const out = [];
readFileSync(new URL(url), "utf8").split("\\n").forEach((text, line) => {
  for (let column = 0; column <= text.length + 1; column++) {
    const e = map ? map.findEntry(line, column) : {};
    out.push(e.originalSource ? [e.originalSource, e.originalLine, e.originalColumn] : null);
  }
});
console.log(JSON.stringify(out));`,
  );
  return JSON.parse(execFileSync(process.execPath, ["--enable-source-maps", script, pathToFileURL(file).href], { encoding: "utf8" })) as Entry[];
}

function reflowEntries(file: string): Entry[] | undefined {
  const text = readFileSync(file, "utf8");
  const map = readInlineSourceMap(pathToFileURL(file).href, createHash("sha256").update(text).digest("hex"));
  if (!map) return undefined;
  return text.split("\n").flatMap((line, n) =>
    Array.from({ length: line.length + 2 }, (_, column): Entry => {
      const e = map.findEntry(n, column);
      return e?.originalSource ? [e.originalSource, e.originalLine, e.originalColumn] : null;
    }),
  );
}

/** A module with a hand-written inline map. */
function withMap(name: string, code: string, map: object): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}\n`);
  return file;
}

describe("readInlineSourceMap", () => {
  it("maps every position of an esbuild bundle as Node's own source map does", async () => {
    mkdirSync(path.join(dir, "src", "lib"), { recursive: true });
    writeFileSync(path.join(dir, "src", "lib", "helper.ts"), "export function helper(value: number): number {\n  return value * 2;\n}\nexport const label = 'é…';\n");
    writeFileSync(
      path.join(dir, "src", "main.ts"),
      "import { helper, label } from './lib/helper.js';\n\ninterface Row { readonly key: string }\nexport const rows: Row[] = [1, 2].map((n) => ({ key: `${label}${helper(n)}` }));\nexport function make(n: number) {\n  return { n, twice: helper(n) };\n}\n",
    );
    const bundle = path.join(dir, "out", "bundle.mjs");
    await build({ entryPoints: [path.join(dir, "src", "main.ts")], outfile: bundle, bundle: true, format: "esm", platform: "node", sourcemap: "inline", sourcesContent: false, keepNames: true, logLevel: "silent" });
    const ours = reflowEntries(bundle);
    expect(ours).toBeDefined();
    expect(ours!.filter((entry) => entry !== null).length).toBeGreaterThan(10);
    expect(ours).toEqual(nodeEntries(bundle));
  });

  it("agrees with Node on maps out of column order, segments without a source, names, a sourceRoot and absolute sources", () => {
    // Line 0: columns 8, then 2 (out of order), then 12 without a source; line 1 empty; line 2: the first source with a name, then the second.
    const file = withMap("hand.mjs", "const a = 1; const b = 2;\n\nexport const c = a + b;", {
      version: 3,
      sourceRoot: "src/",
      sources: ["one.ts", "/abs/two.ts"],
      names: ["c"],
      mappings: "QAAQ,NAAJ,U;;AACAA,UCAEA",
    });
    const ours = reflowEntries(file);
    expect(ours).toBeDefined();
    expect(ours).toEqual(nodeEntries(file));
  });

  it("agrees with Node on malformed mappings: a trailing comma, a comma before or after semicolons, six fields, other characters, a segment cut short by the end", () => {
    const code = "const a = 1; const b = 2;\nconst c = 3;\nexport const d = a + b + c;\nexport const e = d;";
    for (const [n, mappings] of ["AAAA,", "AAAA,;CACA", "E;ly;;,h9htxhssuAyglwAA", ";,AAAA;;,CACA", "AAAAAA,EAAE;CACAA", "AA!A,E@AE;;C.CA", "AAAA;EACA;G", "AAAA;EACAg", "AAAA,Q"].entries()) {
      const file = withMap(`malformed-${n}.mjs`, code, { version: 3, sources: ["one.ts", "two.ts"], names: ["x"], mappings });
      expect(reflowEntries(file), mappings).toEqual(nodeEntries(file));
    }
  });

  it("reads the map's data: URL as Node does: with a charset, a fragment, a query", () => {
    const map = Buffer.from(JSON.stringify({ version: 3, sources: ["x.ts"], names: [], mappings: "AAAA,EAAE;AACA" })).toString("base64");
    for (const [n, url] of [`data:application/json;charset=utf-8;base64,${map}`, `data:application/json;base64,${map}#end`, `data:application/json;base64,${map}?q`].entries()) {
      const file = path.join(dir, `url-${n}.mjs`);
      writeFileSync(file, `export const x = 1;\nexport const y = 2;\n//# sourceMappingURL=${url}\n`);
      const ours = reflowEntries(file);
      expect(ours, url.slice(-8)).toBeDefined();
      expect(ours, url.slice(-8)).toEqual(nodeEntries(file));
    }
  });

  it("leaves to Node a map whose mappings are not ASCII", () => {
    const file = withMap("wide.mjs", "export const x = 1;", { version: 3, sources: ["x.ts"], names: [], mappings: "AAAA,CÉAA" });
    expect(readInlineSourceMap(pathToFileURL(file).href, createHash("sha256").update(readFileSync(file, "utf8")).digest("hex"))).toBeUndefined();
  });

  it("leaves to Node a file that is not the script that ran, a map in another file, a file without a map, and a script named by a sourceURL", () => {
    const file = withMap("stale.mjs", "export const x = 1;", { version: 3, sources: ["x.ts"], names: [], mappings: "AAAA" });
    expect(readInlineSourceMap(pathToFileURL(file).href, "0".repeat(64))).toBeUndefined();
    const linked = path.join(dir, "linked.mjs");
    writeFileSync(linked, "export const x = 1;\n//# sourceMappingURL=linked.mjs.map\n");
    expect(readInlineSourceMap(pathToFileURL(linked).href, createHash("sha256").update(readFileSync(linked, "utf8")).digest("hex"))).toBeUndefined();
    const plain = path.join(dir, "plain.mjs");
    writeFileSync(plain, "export const x = 1;\n");
    expect(readInlineSourceMap(pathToFileURL(plain).href, createHash("sha256").update(readFileSync(plain, "utf8")).digest("hex"))).toBeUndefined();
    expect(readInlineSourceMap(pathToFileURL(path.join(dir, "missing.mjs")).href, "0".repeat(64))).toBeUndefined();
    const named = withMap("named.mjs", "export const x = 1;\n//# sourceURL=elsewhere.mjs", { version: 3, sources: ["x.ts"], names: [], mappings: "AAAA" });
    expect(readInlineSourceMap(pathToFileURL(named).href, createHash("sha256").update(readFileSync(named, "utf8")).digest("hex"))).toBeUndefined();
    const same = withMap("same.mjs", "export const x = 1;", { version: 3, sources: ["x.ts"], names: [], mappings: "AAAA" });
    expect(readInlineSourceMap(pathToFileURL(same).href, createHash("sha256").update(readFileSync(same, "utf8")).digest("hex"))).toBeDefined();
  });
});

describe("parseSourceMap", () => {
  it("maps every position of a bundle with a linked map file as Node does, its sources resolved against the map's URL", async () => {
    mkdirSync(path.join(dir, "linked-src"), { recursive: true });
    writeFileSync(path.join(dir, "linked-src", "main.ts"), "interface Row { readonly key: string }\nexport const rows: Row[] = [1, 2].map((n) => ({ key: `${n}` }));\nexport function make(n: number) {\n  return { n };\n}\n");
    const bundle = path.join(dir, "linked-out", "bundle.mjs");
    await build({ entryPoints: [path.join(dir, "linked-src", "main.ts")], outfile: bundle, bundle: true, format: "esm", platform: "node", sourcemap: "linked", sourcesContent: false, keepNames: true, logLevel: "silent" });
    const map = parseSourceMap(readFileSync(`${bundle}.map`, "utf8"), pathToFileURL(`${bundle}.map`).href);
    expect(map).toBeDefined();
    const ours = readFileSync(bundle, "utf8")
      .split("\n")
      .flatMap((line, n) =>
        Array.from({ length: line.length + 2 }, (_, column): Entry => {
          const e = map!.findEntry(n, column);
          return e?.originalSource ? [e.originalSource, e.originalLine, e.originalColumn] : null;
        }),
      );
    expect(ours.filter((entry) => entry !== null).length).toBeGreaterThan(10);
    expect(ours.find((entry) => entry !== null)![0]).toBe(pathToFileURL(path.join(dir, "linked-src", "main.ts")).href);
    expect(ours).toEqual(nodeEntries(bundle));
  });

  it("leaves to Node a map that is no JSON, has sections, or no mappings", () => {
    const base = pathToFileURL(path.join(dir, "x.map")).href;
    expect(parseSourceMap("{", base)).toBeUndefined();
    expect(parseSourceMap(JSON.stringify({ version: 3, sections: [] }), base)).toBeUndefined();
    expect(parseSourceMap(JSON.stringify({ version: 3, sources: ["x.ts"] }), base)).toBeUndefined();
  });
});
