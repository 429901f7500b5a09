import { z } from "zod";
import { rowJsonSchema, type ColumnsJsonSchema, type DatasetDeclaration } from "@reflow/core";

/** A row schema's JSON Schema (zod's), and its JSON text, which fingerprints and manifests embed. */
export interface RowJsonSchema {
  readonly json: ColumnsJsonSchema;
  readonly text: string;
}

// Leaves whose JSON Schema is their type alone, when their definition holds nothing else.
const PLAIN_LEAVES: ReadonlyMap<string, abstract new (...args: never[]) => unknown> = new Map<string, abstract new (...args: never[]) => unknown>([
  ["string", z.ZodString],
  ["number", z.ZodNumber],
  ["boolean", z.ZodBoolean],
]);

/**
 * The JSON Schemas of a project's row schemas, each converted once: per schema
 * object, and per shape for plain objects (fields of `z.string()`, `z.number()`,
 * `z.boolean()` without checks, metadata or options), which projects declare
 * again in every file and whose conversion is then the same. zod's conversion
 * of 200 such schemas was a tenth of a warm compile.
 */
export function rowJsonSchemas(): (declaration: DatasetDeclaration) => RowJsonSchema {
  const bySchema = new Map<DatasetDeclaration["schema"], RowJsonSchema>();
  const byShape = new Map<string, RowJsonSchema>();
  return (declaration) => {
    let converted = bySchema.get(declaration.schema);
    if (converted) return converted;
    const shape = plainShape(declaration.schema);
    converted = shape === undefined ? undefined : byShape.get(shape);
    if (!converted) {
      const json = rowJsonSchema(declaration.schema, declaration.name);
      converted = Object.freeze({ json, text: JSON.stringify(json) });
      if (shape !== undefined) byShape.set(shape, converted);
    }
    bySchema.set(declaration.schema, converted);
    return converted;
  };
}

/** `[["key","string"],…]` for a plain object of plain leaves, in field order; undefined for anything else. */
function plainShape(schema: z.ZodType): string | undefined {
  if (!(schema instanceof z.ZodObject) || !plainDefinition(schema, "object")) return undefined;
  const fields: [string, string][] = [];
  for (const [name, field] of Object.entries(schema._zod.def.shape) as [string, z.ZodType][]) {
    const type = field._zod.def.type;
    const leaf = PLAIN_LEAVES.get(type);
    if (!leaf || !(field instanceof leaf) || !plainDefinition(field, type)) return undefined;
    fields.push([name, type]);
  }
  return JSON.stringify(fields);
}

/** Nothing but its type (and, for an object, its shape; an empty `checks`) defines it, and it has no metadata. */
function plainDefinition(schema: z.ZodType, type: string): boolean {
  const def = schema._zod.def as unknown as Record<string, unknown>;
  const keys = Object.keys(def);
  const allowed = (key: string): boolean =>
    key === "type" || (key === "shape" && type === "object") || (key === "checks" && Array.isArray(def.checks) && def.checks.length === 0);
  return def.type === type && keys.every(allowed) && Object.keys(schema._zod.bag).length === 0 && !z.globalRegistry.has(schema);
}
