/**
 * What a dataset fingerprint was made of, kept in state next to it so that a
 * later `reflow explain` can say which part changed: the transform itself, a
 * declaration it uses (with file and line), a package version, the version,
 * schema, partitioning or inputs.
 */
export interface FingerprintManifest {
  /** Hash of the transform's (or read's) own canonical code; for a SQL transform, of its compiled SQL and parameters. */
  readonly code: string;
  /** SQL transforms: the compiled SQL the fingerprint covers (absent in manifests of other datasets). */
  readonly sql?: string;
  readonly declarations: readonly { readonly file: string; readonly name: string; readonly line: number; readonly hash: string }[];
  readonly packages: readonly { readonly name: string; readonly version: string }[];
  readonly version: number;
  /** JSON of the schema, partitioning and inputs (compared as text). */
  readonly schema: string;
  readonly partitions: string;
  readonly inputs: string;
  /** `dependsOnEnv` variables → a salted hash of the value, null when unset; absent when none are declared. */
  readonly env?: Readonly<Record<string, string | null>>;
}

/** One reason two manifests differ, for people: `pipelines/lib/rates.ts:2 RATE changed`. */
export interface FingerprintChange {
  readonly what: string;
  /** Project-relative file and line of the declaration concerned, when there is one. */
  readonly file?: string;
  readonly line?: number;
}

/** Every difference between the manifest a version was built with and the current one, in a stable order. */
export function fingerprintChanges(before: FingerprintManifest, after: FingerprintManifest, definedAt?: { file: string; line: number }): FingerprintChange[] {
  const changes: FingerprintChange[] = [];
  if (before.code !== after.code) {
    const what = after.sql !== undefined ? (before.sql === undefined ? "it is a SQL transform now" : "its SQL changed") : "its transform's code changed";
    changes.push({ what, ...(definedAt ? { file: definedAt.file, line: definedAt.line } : {}) });
  }
  const key = (d: { file: string; name: string }) => `${d.file}#${d.name}`;
  const old = new Map(before.declarations.map((d) => [key(d), d]));
  const now = new Map(after.declarations.map((d) => [key(d), d]));
  for (const d of after.declarations) {
    const was = old.get(key(d));
    if (!was) changes.push({ what: `${d.name} is used now`, file: d.file, line: d.line });
    else if (was.hash !== d.hash) changes.push({ what: `${d.name} changed`, file: d.file, line: d.line });
  }
  for (const d of before.declarations) {
    if (!now.has(key(d))) changes.push({ what: `${d.name} is no longer used`, file: d.file, line: d.line });
  }
  const oldPackages = new Map(before.packages.map((p) => [p.name, p.version]));
  const newPackages = new Map(after.packages.map((p) => [p.name, p.version]));
  for (const [name, version] of newPackages) {
    const was = oldPackages.get(name);
    if (was === undefined) changes.push({ what: `package ${name}@${version} is used now` });
    else if (was !== version) changes.push({ what: `package ${name} ${was} → ${version}` });
  }
  for (const [name, version] of oldPackages) if (!newPackages.has(name)) changes.push({ what: `package ${name}@${version} is no longer used` });
  if (before.version !== after.version) changes.push({ what: `version ${before.version} → ${after.version}` });
  if (before.schema !== after.schema) changes.push({ what: "its schema changed" });
  if (before.partitions !== after.partitions) changes.push({ what: "its partitioning changed" });
  if (before.inputs !== after.inputs) changes.push({ what: "its inputs changed" });
  // Names only: a value may be a secret.
  const oldEnv = before.env ?? {};
  const newEnv = after.env ?? {};
  for (const [variable, hash] of Object.entries(newEnv)) {
    if (!(variable in oldEnv)) changes.push({ what: `environment variable ${variable} is in dependsOnEnv now` });
    else if (oldEnv[variable] !== hash) changes.push({ what: `environment variable ${variable} changed${hash === null ? " (unset now)" : oldEnv[variable] === null ? " (set now)" : ""}` });
  }
  for (const variable of Object.keys(oldEnv)) if (!(variable in newEnv)) changes.push({ what: `environment variable ${variable} is no longer in dependsOnEnv` });
  return changes;
}

/** `pipelines/lib/rates.ts:2 RATE changed`, or the change alone when it has no place. */
export function formatFingerprintChange(change: FingerprintChange): string {
  return change.file === undefined ? change.what : `${change.file}:${change.line} ${change.what}`;
}
