import type { DatasetDeclaration } from "@reflow/core";

/**
 * A dataset's metadata as canonical JSON: what describes and governs it but
 * does not change the rows it builds (so it is not in the fingerprint).
 * Editing it rebuilds nothing; apply records it. Checks count by name (the
 * built-in ones name their thresholds), with their severity.
 */
export function datasetMetadata(declaration: DatasetDeclaration): string {
  const fields: Record<string, unknown> = {
    description: declaration.description,
    owner: declaration.owner,
    tags: declaration.tags,
    reprocess: declaration.reprocess,
    checks: declaration.checks.length > 0 ? declaration.checks.map((c) => `${c.name}${c.severity === "warn" ? " (warn)" : ""}`) : undefined,
    retries: declaration.retries === undefined ? undefined : sortedKeys(declaration.retries),
    maxConcurrency: declaration.maxConcurrency,
    pool: declaration.pool,
    retainVersions: declaration.retainVersions,
  };
  // Undefined fields drop out, so a dataset without metadata is `{}`.
  return JSON.stringify(fields);
}

function sortedKeys(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
