// Module hooks (registered by reflow.js): ES imports of kysely resolve to its CommonJS build.
// Its ES build is ~260 modules, each a round trip through tsx's loader thread (~0.5 s of CPU
// per command); its CommonJS build loads them with plain `require`, in-thread.
export async function resolve(specifier, context, next) {
  if (specifier !== "kysely" && !specifier.startsWith("kysely/")) return next(specifier, context);
  const conditions = [...context.conditions.filter((c) => c !== "import"), "require"];
  return next(specifier, { ...context, conditions });
}
