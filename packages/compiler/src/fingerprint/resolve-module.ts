import fs from "node:fs";
import { isBuiltin } from "node:module";
import path from "node:path";

/** Where an import specifier leads. */
export type ModuleTarget =
  | { readonly kind: "file"; readonly file: string }
  | { readonly kind: "package"; readonly name: string }
  | { readonly kind: "builtin"; readonly name: string }
  | { readonly kind: "missing" };

/** Files parsed as code; anything else a specifier reaches (JSON, say) is hashed as bytes. */
export const SCRIPT_EXTENSIONS: readonly string[] = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

// TypeScript sources import each other by their emitted names: "./a.js" means a.ts.
const SOURCES_OF: Readonly<Record<string, readonly string[]>> = { ".js": [".ts", ".tsx"], ".jsx": [".tsx"], ".mjs": [".mts"], ".cjs": [".cts"] };

/** Resolves `specifier` as imported from `fromFile`: a project file, an npm package or a Node builtin. */
export function resolveModule(fromFile: string, specifier: string): ModuleTarget {
  if (specifier.startsWith("node:") || isBuiltin(specifier)) return { kind: "builtin", name: specifier.replace(/^node:/, "") };
  if (!/^\.\.?(\/|$)/.test(specifier) && !path.isAbsolute(specifier)) return { kind: "package", name: packageName(specifier) };
  const file = resolveFile(path.resolve(path.dirname(fromFile), specifier));
  return file === undefined ? { kind: "missing" } : { kind: "file", file };
}

/** `date-fns/format` → `date-fns`, `@scope/pkg/sub` → `@scope/pkg`. */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return (specifier.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)).join("/");
}

function resolveFile(base: string): string | undefined {
  const extension = path.extname(base);
  const stem = base.slice(0, base.length - extension.length);
  const candidates = [
    ...(SOURCES_OF[extension] ?? []).map((source) => stem + source),
    base,
    ...SCRIPT_EXTENSIONS.map((script) => base + script),
    ...SCRIPT_EXTENSIONS.map((script) => path.join(base, `index${script}`)),
  ];
  return candidates.find((candidate) => fs.statSync(candidate, { throwIfNoEntry: false })?.isFile());
}
