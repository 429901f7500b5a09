import type { CompiledDataset } from "./compiled-project.js";
import { fingerprintChanges, type FingerprintManifest } from "./fingerprint-manifest.js";

/** Whether a change can be applied without rebuilding readers, and why, for people. */
export interface NonBreakingVerdict {
  readonly nonBreaking: boolean;
  /** `auto: adds optional column \`x\`; no reader references it`, or why not (absent when there is nothing to say). */
  readonly why?: string;
}

/**
 * Words in a reader's code that may read every field of a row, so a new
 * column could reach its output unnamed: `Object.keys/values/entries`,
 * `JSON.stringify`, `Object.assign`, `for…in`.
 */
const WHOLE_ROW_WORDS = ["keys", "values", "entries", "stringify", "assign", "getOwnPropertyNames", "#for-in"];

/**
 * Auto-detects a non-breaking change: nothing changed but the schema, the
 * schema only adds optional fields, and no reader can read them: none names
 * them in its code's closure (identifiers, string and template literals) or
 * in its own schema (a spread row would carry them), reads whole rows
 * generically, or hands rows to an npm package. Anything else is breaking: a
 * wrong "non-breaking" leaves readers wrong, a wrong "breaking" only costs time.
 */
export function detectNonBreaking(before: FingerprintManifest, dataset: CompiledDataset, readers: readonly CompiledDataset[]): NonBreakingVerdict {
  const added = addedOptionalFields(before.schema, dataset.manifest.schema);
  if (!added) return { nonBreaking: false };
  const columns = `optional column${added.length === 1 ? "" : "s"} ${added.map((f) => `\`${f}\``).join(", ")}`;
  const other = fingerprintChanges({ ...before, schema: dataset.manifest.schema }, dataset.manifest)[0];
  if (other) return { nonBreaking: false, why: `adds ${columns}, but ${other.what} too` };
  for (const reader of readers) {
    const problem = readerProblem(reader, added);
    if (problem) return { nonBreaking: false, why: `adds ${columns}, but ${reader.name} ${problem}` };
  }
  return { nonBreaking: true, why: `auto: adds ${columns}; ${readers.length === 0 ? "it has no readers" : `no reader references ${added.length === 1 ? "it" : "them"}`}` };
}

function readerProblem(reader: CompiledDataset, fields: readonly string[]): string | undefined {
  for (const field of fields) {
    if (reader.columns.some((c) => c.name === field)) return `declares a column \`${field}\``;
    if (reader.code.words.has(field)) return `references \`${field}\``;
  }
  const generic = WHOLE_ROW_WORDS.find((word) => reader.code.words.has(word));
  if (generic) return `may read every field (${generic === "#for-in" ? "for…in" : `\`${generic}\``})`;
  const npm = reader.code.packages[0];
  if (npm) return `hands data to package ${npm.name}, which may read any field`;
  return undefined;
}

/** The fields `after` adds to `before` when that is all it does and they are optional; otherwise undefined. */
export function addedOptionalFields(beforeJson: string, afterJson: string): string[] | undefined {
  if (beforeJson === afterJson) return undefined;
  const before = JSON.parse(beforeJson) as JsonSchemaObject;
  const after = JSON.parse(afterJson) as JsonSchemaObject;
  const { properties: beforeProperties = {}, required: beforeRequired = [], ...beforeRest } = before;
  const { properties: afterProperties = {}, required: afterRequired = [], ...afterRest } = after;
  if (JSON.stringify(beforeRest) !== JSON.stringify(afterRest)) return undefined;
  if (JSON.stringify([...beforeRequired].sort()) !== JSON.stringify([...afterRequired].sort())) return undefined;
  for (const [name, schema] of Object.entries(beforeProperties)) {
    if (JSON.stringify(afterProperties[name]) !== JSON.stringify(schema)) return undefined;
  }
  const added = Object.keys(afterProperties).filter((name) => !(name in beforeProperties));
  return added.length > 0 ? added : undefined;
}

interface JsonSchemaObject {
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly required?: readonly string[];
  readonly [key: string]: unknown;
}
