// Module hooks (registered by reflow.js): ES imports of these packages resolve to their CommonJS
// builds. Their ES builds are hundreds of modules (kysely ~260, zod ~95), each a round trip
// through tsx's loader thread; a CommonJS build is one module through the hooks, and its own
// `require`s load in-thread. Every import in the process (reflow's and the user's pipelines')
// resolves the same way, so each package is still loaded once: the CLI's bundle and the
// pipelines' bundle (pipelines-bundle.mjs) name the same builds.
export const COMMONJS_PACKAGES = new Set(["kysely", "zod", "diff", "csv-parse"]);

/** `@scope/name` or `name` of a bare specifier. */
export function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

export async function resolve(specifier, context, next) {
  if (!COMMONJS_PACKAGES.has(packageName(specifier))) return next(specifier, context);
  const conditions = [...context.conditions.filter((c) => c !== "import"), "require"];
  return next(specifier, { ...context, conditions });
}
