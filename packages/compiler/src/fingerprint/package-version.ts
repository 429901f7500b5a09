import fs from "node:fs";
import path from "node:path";

/**
 * The version of npm package `name` as Node would load it from `fromFile`:
 * from the nearest node_modules/<name>/package.json up the directory tree.
 */
export function packageVersion(fromFile: string, name: string): string {
  for (let dir = path.dirname(fromFile); ; dir = path.dirname(dir)) {
    const manifest = readManifest(path.join(dir, "node_modules", name, "package.json"));
    if (manifest !== undefined) return typeof manifest.version === "string" ? manifest.version : "unknown";
    if (path.dirname(dir) === dir) return "unknown";
  }
}

function readManifest(file: string): { readonly version?: unknown } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    const manifest: unknown = JSON.parse(text);
    return typeof manifest === "object" && manifest !== null ? manifest : {};
  } catch {
    return {};
  }
}
