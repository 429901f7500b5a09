import { z } from "zod";
import { ReflowError } from "./reflow-error.js";

export type ColumnType = "text" | "integer" | "real" | "boolean" | "json";

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** The schema allows null. */
  readonly nullable: boolean;
  /** The schema allows the field to be absent. */
  readonly optional: boolean;
}

/** Column names reflow itself uses in the warehouse; a schema may not declare them. */
export const RESERVED_COLUMNS = ["_partition", "_version"] as const;

/** The part of a JSON Schema (as zod makes it) that decides columns. */
export type ColumnsJsonSchema = { type?: string | string[]; anyOf?: ColumnsJsonSchema[]; properties?: Record<string, ColumnsJsonSchema>; required?: string[] };

/**
 * Warehouse columns for a row schema, derived from zod's JSON Schema so that
 * every zod construct maps somewhere: scalars to native columns, the rest to JSON text.
 */
export function columnsOf(schema: z.ZodType, datasetName: string): ColumnSpec[] {
  return columnsOfJsonSchema(rowJsonSchema(schema, datasetName), datasetName);
}

/**
 * zod's JSON Schema of a row schema, as `columnsOf` reads it: the compiler
 * converts each schema object once for its many datasets and fingerprints the same conversion.
 */
export function rowJsonSchema(schema: z.ZodType, datasetName: string): ColumnsJsonSchema {
  try {
    return z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as ColumnsJsonSchema;
  } catch (error) {
    throw new ReflowError("REFLOW_INVALID_DECLARATION", `dataset "${datasetName}": schema cannot be described as columns: ${(error as Error).message}`, { subject: datasetName });
  }
}

/** `columnsOf` from the schema's `rowJsonSchema`. */
export function columnsOfJsonSchema(json: ColumnsJsonSchema, datasetName: string): ColumnSpec[] {
  if (json.type !== "object" || !json.properties) {
    throw new ReflowError("REFLOW_INVALID_DECLARATION", `dataset "${datasetName}": schema must be a z.object({...}) describing one row`, { subject: datasetName });
  }
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties).map(([name, property]) => {
    if ((RESERVED_COLUMNS as readonly string[]).includes(name)) {
      throw new ReflowError("REFLOW_INVALID_DECLARATION", `dataset "${datasetName}": column "${name}" is reserved by reflow`, { subject: datasetName });
    }
    const { type, nullable } = scalarType(property);
    return Object.freeze({ name, type, nullable, optional: !required.has(name) });
  });
}

function scalarType(property: ColumnsJsonSchema): { type: ColumnType; nullable: boolean } {
  const variants = property.anyOf ?? [property];
  const types = new Set<string>();
  for (const variant of variants) {
    const t = variant.type;
    if (t === undefined) return { type: "json", nullable: true };
    for (const one of Array.isArray(t) ? t : [t]) types.add(one);
  }
  const nullable = types.delete("null");
  if (types.size !== 1) return { type: "json", nullable };
  const [only] = [...types];
  switch (only) {
    case "string":
      return { type: "text", nullable };
    case "integer":
      return { type: "integer", nullable };
    case "number":
      return { type: "real", nullable };
    case "boolean":
      return { type: "boolean", nullable };
    default:
      return { type: "json", nullable };
  }
}
