/**
 * The versions of ONE partition that retention lets `reflow gc` delete: all
 * but the live one and the newest `retainVersions - 1` others. Newest means
 * highest version id (ids only grow), so after a rollback the versions rolled
 * away from are kept too, for rolling forward again.
 */
export function versionsPastRetention(versions: readonly { readonly version: number; readonly live: boolean }[], retainVersions: number): Set<number> {
  const others = versions.filter((v) => !v.live).sort((a, b) => b.version - a.version);
  const kept = retainVersions - (versions.some((v) => v.live) ? 1 : 0);
  return new Set(others.slice(Math.max(0, kept)).map((v) => v.version));
}
