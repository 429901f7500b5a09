import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const CODE_CACHE = path.resolve(fileURLToPath(import.meta.url), "../../bin/commonjs-code-cache.mjs");

describe("requireWithCodeCache (cli/bin/commonjs-code-cache.mjs)", { timeout: 60_000 }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "reflow-code-cache-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const packageDir = path.join(root, "node_modules", "@scope", "pkg");
  const cacheDir = path.join(root, "cache");
  mkdirSync(path.join(packageDir, "lib"), { recursive: true });
  writeFileSync(path.join(packageDir, "index.cjs"), 'const { value } = require("./lib/value.cjs");\nexports.value = value;\nexports.twice = () => value * 2;\n');
  writeFileSync(path.join(packageDir, "lib/value.cjs"), "exports.value = 1;\n");
  const entry = path.join(packageDir, "index.cjs");

  /** In a process of its own: what `require` then finds. */
  const run = (): { value: number; twice: number } => {
    const script = `import { requireWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
import { createRequire } from "node:module";
const cache = requireWithCodeCache([${JSON.stringify(entry)}], { cacheDir: ${JSON.stringify(cacheDir)} });
const loaded = createRequire(${JSON.stringify(entry)})(${JSON.stringify(entry)});
cache.save();
console.log(JSON.stringify({ value: loaded.value, twice: loaded.twice() }));`;
    return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })) as { value: number; twice: number };
  };

  it("loads a package's files into the module cache, saves their code cache after the run, and compiles from it next time", () => {
    expect(run()).toEqual({ value: 1, twice: 2 });
    const cacheFiles = readdirSync(cacheDir);
    expect(cacheFiles).toHaveLength(1);
    expect(cacheFiles[0]).toMatch(/^pkg-[0-9a-f]{24}\.bin$/);
    const cacheFile = path.join(cacheDir, cacheFiles[0]!);
    const written = statSync(cacheFile).mtimeMs;
    // Compiled from the cache: nothing to save again.
    expect(run()).toEqual({ value: 1, twice: 2 });
    expect(statSync(cacheFile).mtimeMs).toBe(written);
    expect(readdirSync(cacheDir)).toEqual(cacheFiles);
  });

  it("never runs a file's cached code once the file changed, even to a source of the same length (which V8 would accept)", () => {
    const file = path.join(packageDir, "lib/value.cjs");
    writeFileSync(file, readFileSync(file, "utf8").replace("= 1;", "= 7;"));
    expect(run()).toEqual({ value: 7, twice: 14 });
  });

  it("leaves a file it cannot load to the caller's require, and a corrupt cache only to compiling", () => {
    const [cacheFile] = readdirSync(cacheDir);
    writeFileSync(path.join(cacheDir, cacheFile!), "not a cache");
    expect(run()).toEqual({ value: 7, twice: 14 });
    // And written anew.
    expect(readFileSync(path.join(cacheDir, cacheFile!), "utf8")).not.toBe("not a cache");
    const script = `import { requireWithCodeCache } from ${JSON.stringify(CODE_CACHE)};
requireWithCodeCache([${JSON.stringify(path.join(root, "node_modules/missing/index.cjs"))}], { cacheDir: ${JSON.stringify(cacheDir)} }).save();
console.log("ok");`;
    expect(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })).toBe("ok\n");
  });
});
