import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript next to the CLI's bin, without declarations.
import { esbuild } from "../bin/cli-bundle.mjs";

interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}
const build = (options: Record<string, unknown>) => (esbuild as () => Esbuild)().build({ logLevel: "silent", platform: "node", format: "esm", outExtension: { ".js": ".mjs" }, ...options });

const SOURCE = `interface Row { readonly n: number }
export function outer(rows: Row[]): number {
  return rows.map((row) => inner(row)).length;
}
function inner(row: Row): number {
  if (row.n > 1) throw new TypeError(\`bad row \${row.n}\`);
  return row.n;
}
export class Thing {
  run(): number { return outer([{ n: 1 }, { n: 2 }]); }
}
`;

describe("sourceMappedStack", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-mapped-stack-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints a frame of a module compiled before source maps were enabled as Node prints it with them", async () => {
    writeFileSync(path.join(dir, "thing.ts"), SOURCE);
    // Bundled as the CLI is: linked maps without the sources' text.
    await build({ entryPoints: [path.join(dir, "thing.ts")], outdir: path.join(dir, "out"), bundle: true, keepNames: true, sourcemap: "linked", sourcesContent: false });
    const here = path.resolve(fileURLToPath(import.meta.url), "../../src/source-mapped-stack.ts");
    await build({ entryPoints: [here], outdir: path.join(dir, "mapper") });
    const thing = pathToFileURL(path.join(dir, "out/thing.mjs")).href;
    const mapper = pathToFileURL(path.join(dir, "mapper/source-mapped-stack.mjs")).href;
    const run = (flags: string[], print: string) =>
      execFileSync(process.execPath, [...flags, "--input-type=module", "-e", `${print} const { Thing } = await import(${JSON.stringify(thing)}); try { new Thing().run(); } catch (e) { console.log(show(e.stack)); }`], { encoding: "utf8" });
    const byNode = run(["--enable-source-maps"], "const show = (s) => s;");
    const byReflow = run([], `const { sourceMappedStack: show } = await import(${JSON.stringify(mapper)});`);
    const file = path.join(dir, "thing.ts");
    const expected = [
      "TypeError: bad row 2",
      `    at inner (${file}:6:24)`,
      `    at <anonymous> (${file}:3:28)`,
      "    at Array.map (<anonymous>)",
      `    at outer (${file}:3:15)`,
      `    at Thing.run (${file}:10:26)`,
    ];
    expect(byNode.split("\n").slice(0, 6)).toEqual(expected);
    expect(byReflow.split("\n").slice(0, 6)).toEqual(expected);
  });

  it("leaves frames without a linked map, and other lines, as they are", async () => {
    const plain = path.join(dir, "plain.mjs");
    writeFileSync(plain, "export const x = 1;\n");
    const stack = ["Error: boom", `    at f (${pathToFileURL(plain).href}:1:8)`, "    at node:internal/main:3:4", `    at ${path.join(dir, "missing.mjs")}:2:2`].join("\n");
    const { sourceMappedStack } = await import("../src/source-mapped-stack.js");
    expect(sourceMappedStack(stack)).toBe(stack);
  });
});
