// Module hooks (registered by reflow.js): ES imports of these packages resolve to their CommonJS
// builds. Their ES builds are hundreds of modules (kysely ~260, zod ~95), each a round trip
// through tsx's loader thread; a CommonJS build is one module through the hooks, and its own
// `require`s load in-thread. Every import in the process (reflow's and the user's pipelines')
// resolves the same way, so each package is still loaded once.
const COMMONJS = new Set(["kysely", "zod", "diff", "csv-parse"]);

export async function resolve(specifier, context, next) {
  const slash = specifier.indexOf("/");
  if (!COMMONJS.has(slash === -1 ? specifier : specifier.slice(0, slash))) return next(specifier, context);
  const conditions = [...context.conditions.filter((c) => c !== "import"), "require"];
  return next(specifier, { ...context, conditions });
}
