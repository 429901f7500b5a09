import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript next to the CLI's bin, without declarations.
import { cliBundle } from "../bin/cli-bundle.mjs";

interface CliBundle {
  readonly main: string;
  readonly dir: string;
  readonly entries: Readonly<Record<string, string>>;
}
const bundleOf = cliBundle as (options?: { root?: string; cache?: string; settledMs?: number }) => Promise<CliBundle | undefined>;

const REPO = path.resolve(fileURLToPath(import.meta.url), "../../..");
const PACKAGES = ["core", "compiler", "state", "warehouse-sqlite", "postgres", "warehouse-postgres", "planner", "engine", "api"];

/** A copy of the repository's sources (never the repository itself: other tests run from it), resolving its own workspace packages. */
function sourceCopy(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "reflow-cli-bundle-"));
  cpSync(path.join(REPO, "tsconfig.json"), path.join(root, "tsconfig.json"));
  cpSync(path.join(REPO, "cli/src"), path.join(root, "cli/src"), { recursive: true });
  cpSync(path.join(REPO, "cli/package.json"), path.join(root, "cli/package.json"));
  for (const name of PACKAGES) {
    cpSync(path.join(REPO, "packages", name, "src"), path.join(root, "packages", name, "src"), { recursive: true });
    cpSync(path.join(REPO, "packages", name, "package.json"), path.join(root, "packages", name, "package.json"));
  }
  const modules = path.join(root, "node_modules");
  mkdirSync(path.join(modules, "@reflow"), { recursive: true });
  for (const entry of readdirSync(path.join(REPO, "node_modules"))) {
    if (entry !== "@reflow" && entry !== "reflow" && entry !== ".cache") symlinkSync(path.join(REPO, "node_modules", entry), path.join(modules, entry));
  }
  symlinkSync(path.join(root, "cli"), path.join(modules, "reflow"));
  for (const name of PACKAGES) symlinkSync(path.join(root, "packages", name), path.join(modules, "@reflow", name));
  return root;
}

describe("the CLI's bundle (cli/bin/cli-bundle.mjs)", { timeout: 120_000 }, () => {
  const root = sourceCopy();
  const cache = path.join(root, "bundles");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is built once for the sources, maps each package index to its entry, and runs", async () => {
    const first = (await bundleOf({ root, cache }))!;
    expect(first).toBeDefined();
    expect(readdirSync(cache)).toHaveLength(1);
    expect(first.dir).toBe(pathToFileURL(path.join(cache, readdirSync(cache)[0]!)).href + "/");
    expect(first.entries[pathToFileURL(path.join(root, "packages/core/src/index.ts")).href]).toBe(new URL("reflow-core.mjs", first.dir).href);
    expect(first.entries[pathToFileURL(path.join(root, "cli/src/index.ts")).href]).toBe(new URL("reflow.mjs", first.dir).href);
    expect(Object.keys(first.entries)).toHaveLength(PACKAGES.length + 1);
    const again = (await bundleOf({ root, cache }))!;
    expect(again).toEqual(first);
    expect(readdirSync(cache)).toHaveLength(1);
    const { main } = (await import(first.main)) as { main: unknown };
    expect(typeof main).toBe("function");
  });

  it("is never stale: an edited source gets a new bundle with the edit in it", async () => {
    const before = (await bundleOf({ root, cache }))!;
    appendFileSync(path.join(root, "packages/core/src/index.ts"), "export const BUNDLE_TEST_MARK = 42;\n");
    const after = (await bundleOf({ root, cache }))!;
    expect(after.main).not.toBe(before.main);
    const core = (await import(after.entries[pathToFileURL(path.join(root, "packages/core/src/index.ts")).href]!)) as { BUNDLE_TEST_MARK?: number };
    expect(core.BUNDLE_TEST_MARK).toBe(42);
    // A file added to a package changes it too, even before anything imports it.
    writeFileSync(path.join(root, "packages/planner/src/unused-new-file.ts"), "export const x = 1;\n");
    expect((await bundleOf({ root, cache }))!.main).not.toBe(after.main);
  });

  it("takes the digest from the files' times once they have settled, and still gives an edited source a new bundle", async () => {
    const record = `${cache}.sources.json`;
    const file = path.join(root, "packages/core/src/index.ts");
    appendFileSync(file, "export const SETTLED_MARK = 1;\n");
    // Just edited: not settled for the default 3 s, so nothing is remembered.
    rmSync(record, { force: true });
    const edited = (await bundleOf({ root, cache }))!;
    expect(existsSync(record)).toBe(false);
    const settled = (await bundleOf({ root, cache, settledMs: 0 }))!;
    expect(settled).toEqual(edited);
    // The record is believed while every file has its times: a digest written into it names the bundle.
    const text = readFileSync(record, "utf8");
    const digest = path.basename(fileURLToPath(settled.dir));
    expect(text).toContain(`"digest":"${digest}"`);
    writeFileSync(record, text.replace(digest, "0".repeat(24)));
    expect((await bundleOf({ root, cache, settledMs: 0 }))!.dir).toBe(pathToFileURL(path.join(cache, "0".repeat(24))).href + "/");
    rmSync(path.join(cache, "0".repeat(24)), { recursive: true });
    writeFileSync(record, text);
    // An edit of the same size (once the clock has moved on: here, no tick is that long) changes the file's times.
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeFileSync(file, readFileSync(file, "utf8").replace("SETTLED_MARK = 1;", "SETTLED_MARK = 2;"));
    const after = (await bundleOf({ root, cache, settledMs: 0 }))!;
    expect(after.main).not.toBe(settled.main);
    const core = (await import(after.entries[pathToFileURL(file).href]!)) as { SETTLED_MARK?: number };
    expect(core.SETTLED_MARK).toBe(2);
  });

  it("compiles in the packages only reflow imports when package-lock.json pins them, and a changed lock file gives a new bundle", async () => {
    const importsOf = (bundle: CliBundle) => {
      const dir = fileURLToPath(bundle.dir);
      const text = readdirSync(dir).filter((name) => name.endsWith(".mjs")).map((name) => readFileSync(path.join(dir, name), "utf8")).join("\n");
      return new Set([...text.matchAll(/^import .* from "([^".][^"]*)";$/gm)].map((match) => match[1]).filter((name) => !isBuiltin(name!)));
    };
    const unpinned = (await bundleOf({ root, cache }))!;
    expect(importsOf(unpinned)).toEqual(new Set(["@dagrejs/graphlib", "cli-progress", "commander", "picocolors", "tinyglobby", "yaml"]));
    cpSync(path.join(REPO, "package-lock.json"), path.join(root, "package-lock.json"));
    const pinned = (await bundleOf({ root, cache }))!;
    expect(pinned.main).not.toBe(unpinned.main);
    expect(importsOf(pinned)).toEqual(new Set(["@dagrejs/graphlib"]));
    const { main } = (await import(pinned.main)) as { main: (argv: string[]) => Promise<number> };
    expect(typeof main).toBe("function");
    appendFileSync(path.join(root, "package-lock.json"), "\n");
    expect((await bundleOf({ root, cache }))!.main).not.toBe(pinned.main);
    rmSync(path.join(root, "package-lock.json"));
  });

  it("is left out (the CLI runs from source) when the sources do not build, or when REFLOW_CLI_BUNDLE=0", async () => {
    expect(await bundleOf({ root, cache })).toBeDefined();
    process.env.REFLOW_CLI_BUNDLE = "0";
    try {
      expect(await bundleOf({ root, cache })).toBeUndefined();
    } finally {
      delete process.env.REFLOW_CLI_BUNDLE;
    }
    const built = readdirSync(cache).length;
    appendFileSync(path.join(root, "packages/engine/src/index.ts"), "export const = ;\n");
    expect(await bundleOf({ root, cache })).toBeUndefined();
    // Nothing half-built is left to be taken for a bundle.
    expect(readdirSync(cache).filter((name) => !name.endsWith(".tmp"))).toHaveLength(built);
    expect(readdirSync(cache).every((name) => name.endsWith(".tmp") || existsSync(path.join(cache, name, "complete")))).toBe(true);
  });
});
