import type { FingerprintTarget } from "../code-fingerprinter.js";
import type { CallSite } from "./file-summary.js";

/**
 * The call that declared `target`, among a file's call sites: one on the
 * reported line with the target's property, preferring the dataset's name,
 * then the column nearest the reported one (source-mapped columns drift).
 */
export function locateCallSite(callSites: readonly CallSite[], target: FingerprintTarget): CallSite | undefined {
  const candidates = callSites.filter((site) => Object.hasOwn(site.properties, target.property));
  const onLine = candidates.filter((site) => site.line === target.line);
  const named = onLine.filter((site) => site.firstArgument === target.name);
  const pool = named.length > 0 ? named : onLine;
  if (pool.length > 0) return nearest(pool, target.column);
  // The line can be off when a tool rewrote the file; a name unique in the file is still unambiguous.
  const elsewhere = candidates.filter((site) => site.firstArgument === target.name);
  return elsewhere.length === 1 ? elsewhere[0] : undefined;
}

function nearest(sites: readonly CallSite[], column: number | undefined): CallSite {
  if (!column) return sites[0]!;
  return sites.reduce((best, site) => (Math.abs(site.column - column) < Math.abs(best.column - column) ? site : best));
}
