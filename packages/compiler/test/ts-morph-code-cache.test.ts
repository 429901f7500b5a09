import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const MODULE = fileURLToPath(new URL("../src/fingerprint/ts-morph-code-cache.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "reflow-code-cache-"));
const cacheDir = path.join(dir, "cache");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A new process each time: ts-morph loads once per process.
const script = path.join(dir, "load.ts");
writeFileSync(
  script,
  `import { createRequire } from "node:module";
import { preloadTsMorph } from ${JSON.stringify(pathToFileURL(MODULE).href)};
const require = createRequire(${JSON.stringify(MODULE)});
const cache = preloadTsMorph(require, { cacheDir: process.argv[2] });
const { Project } = require("ts-morph");
const file = new Project({ useInMemoryFileSystem: true }).createSourceFile("a.ts", "export const total = [1, 2].length;");
const type = file.getVariableDeclarationOrThrow("total").getType().getText();
cache.save();
console.log(JSON.stringify({ type }));
`,
);
const load = (): { type: string } =>
  JSON.parse(execFileSync(process.execPath, ["--import", "tsx", script, cacheDir], { cwd: REPO, encoding: "utf8" })) as { type: string };
const saved = () => Object.fromEntries(readdirSync(cacheDir).map((name) => [name.replace(/-[0-9a-f]{24}\.bin$/, ""), statSync(path.join(cacheDir, name)).mtimeMs]));

describe("ts-morph compiled from V8's code cache (preloadTsMorph)", { timeout: 60_000 }, () => {
  it("saves a cache of each of ts-morph's three files after they ran, loads from them next time, and replaces one V8 rejects", () => {
    expect(load()).toEqual({ type: "number" });
    const first = saved();
    expect(Object.keys(first).sort()).toEqual(["ts-morph", "ts-morph-common", "typescript"]);

    // Accepted: nothing to save again.
    expect(load()).toEqual({ type: "number" });
    expect(saved()).toEqual(first);

    // Not V8's data for this source: compiled as usual, and a good cache written in its place.
    const typescript = readdirSync(cacheDir).find((name) => name.startsWith("typescript-"))!;
    writeFileSync(path.join(cacheDir, typescript), "not a code cache");
    expect(load()).toEqual({ type: "number" });
    expect(readFileSync(path.join(cacheDir, typescript)).length).toBeGreaterThan(1_000_000);
    expect(saved()["ts-morph"]).toBe(first["ts-morph"]);
  });
});
