import type { z } from "zod";

/** What validating one output row gives: zod's own result shape. */
export type RowValidation = { readonly success: true; readonly data: unknown } | { readonly success: false; readonly error: z.ZodError };

/** Validates one row against a dataset's schema, as `schema.safeParse` does. */
export type RowValidator = (raw: unknown) => RowValidation;

type FieldKind = "string" | "number" | "int" | "boolean";

interface SimpleField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly nullable: boolean;
}

/**
 * `schema.safeParse`, with a fast path for the common schema: a `z.object` of
 * plain strings, numbers (`.int()` allowed), booleans, `.nullable()`. zod's
 * general machinery cost more per row than hashing it. A row the fast path
 * does not accept outright (wrong type, a missing or undefined field, not an
 * object) goes to zod, so what is rejected, and the error, are zod's.
 * Any other schema (refinements, transforms, coercion, defaults, strict or
 * passthrough objects, other types) is zod's alone.
 */
export function rowValidator(schema: z.ZodType): RowValidator {
  let validator = validators.get(schema);
  if (!validator) validators.set(schema, (validator = buildValidator(schema)));
  return validator;
}

/** One validator per schema, built on first use: a run validates many partitions of a dataset. */
const validators = new WeakMap<z.ZodType, RowValidator>();

function buildValidator(schema: z.ZodType): RowValidator {
  const parse: RowValidator = (raw) => schema.safeParse(raw);
  const fields = simpleFields(schema);
  if (!fields) return parse;
  const names = fields.map((f) => f.name);
  const kinds = fields.map((f) => f.kind);
  const nullable = fields.map((f) => f.nullable);
  return (raw) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return parse(raw);
    const input = raw as Record<string, unknown>;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const value = input[name];
      if (value === null) {
        if (!nullable[i]) return parse(raw);
      } else {
        switch (kinds[i]) {
          case "string":
            if (typeof value !== "string") return parse(raw);
            break;
          case "number":
            if (typeof value !== "number" || !Number.isFinite(value)) return parse(raw);
            break;
          case "int":
            if (!Number.isSafeInteger(value)) return parse(raw);
            break;
          case "boolean":
            if (typeof value !== "boolean") return parse(raw);
            break;
        }
      }
      row[name] = value;
    }
    return { success: true, data: row };
  };
}

/** The schema's fields if it is an object of simple fields only; undefined otherwise. */
function simpleFields(schema: z.ZodType): SimpleField[] | undefined {
  const def = zodDef(schema);
  if (def?.type !== "object" || def.catchall !== undefined || hasChecks(def) || typeof def.shape !== "object" || def.shape === null) return undefined;
  const fields: SimpleField[] = [];
  for (const [name, field] of Object.entries(def.shape as Record<string, unknown>)) {
    if (name === "__proto__") return undefined; // assigning it would set the row's prototype
    let inner = zodDef(field);
    let isNullable = false;
    if (inner?.type === "nullable") {
      isNullable = true;
      inner = zodDef(inner.innerType);
    }
    const kind = inner && !inner.coerce ? simpleKind(inner) : undefined;
    if (!kind) return undefined;
    fields.push({ name, kind, nullable: isNullable });
  }
  return fields;
}

function simpleKind(def: ZodDef): FieldKind | undefined {
  if (def.type === "string" || def.type === "boolean") return hasChecks(def) ? undefined : def.type;
  if (def.type !== "number") return undefined;
  if (!hasChecks(def)) return "number";
  const checks = def.checks as readonly unknown[];
  const only = checks.length === 1 ? zodDef(checks[0]) : undefined;
  return only?.check === "number_format" && only.format === "safeint" ? "int" : undefined;
}

interface ZodDef {
  readonly type?: string;
  readonly checks?: readonly unknown[];
  readonly [key: string]: unknown;
}

/** zod 4's definition of a schema or check (`_zod.def`), read defensively: a shape it does not know disables the fast path. */
function zodDef(value: unknown): ZodDef | undefined {
  const zod = (value as { _zod?: { def?: unknown } } | null | undefined)?._zod;
  return typeof zod?.def === "object" && zod.def !== null ? (zod.def as ZodDef) : undefined;
}

function hasChecks(def: ZodDef): boolean {
  return Array.isArray(def.checks) && def.checks.length > 0;
}
