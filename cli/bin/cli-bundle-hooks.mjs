// Module hooks (registered by reflow.js after tsx's, so they run first) when the CLI runs from its
// bundle (cli-bundle.mjs): an import that resolves to a bundled package's source index (the
// pipelines' `@reflow/core`) gets the bundle's compiled entry instead, so the pipelines and the CLI
// share one instance of each package (its declaration registry, its classes for instanceof); and
// the bundle's own files load as they are, not through tsx's transform.
import { readFile } from "node:fs/promises";

let entries = new Map();
let bundleDir = "\0";

export function initialize(data) {
  entries = new Map(Object.entries(data.entries));
  bundleDir = data.dir;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const bundled = entries.get(resolved.url);
  return bundled ? { url: bundled, format: "module", shortCircuit: true } : resolved;
}

export async function load(url, context, next) {
  if (!url.startsWith(bundleDir)) return next(url, context);
  return { format: "module", source: await readFile(new URL(url)), shortCircuit: true };
}
