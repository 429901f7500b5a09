import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type DatasetDeclaration } from "@reflow/core";
import { rowJsonSchemas } from "../src/row-json-schemas.js";

const declaration = (name: string, schema: z.ZodType) => ({ name, schema }) as unknown as DatasetDeclaration;
const zodText = (schema: z.ZodType) => JSON.stringify(z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }));

describe("rowJsonSchemas", () => {
  it("converts look-alike plain objects once, and gives zod's own conversion", () => {
    const jsonSchemaOf = rowJsonSchemas();
    const first = jsonSchemaOf(declaration("a", z.object({ key: z.string(), value: z.number(), ok: z.boolean() })));
    const again = jsonSchemaOf(declaration("b", z.object({ key: z.string(), value: z.number(), ok: z.boolean() })));
    expect(again).toBe(first);
    expect(first.text).toBe(zodText(z.object({ key: z.string(), value: z.number(), ok: z.boolean() })));
    expect(first.json).toEqual(JSON.parse(first.text));
  });

  it("converts on its own every schema that differs from a plain look-alike in anything zod writes", () => {
    const jsonSchemaOf = rowJsonSchemas();
    const plain = jsonSchemaOf(declaration("plain", z.object({ key: z.string(), value: z.number() })));
    const variants: Record<string, z.ZodType> = {
      order: z.object({ value: z.number(), key: z.string() }),
      names: z.object({ key: z.string(), amount: z.number() }),
      int: z.object({ key: z.string(), value: z.int() }),
      check: z.object({ key: z.string(), value: z.number().min(0) }),
      optional: z.object({ key: z.string(), value: z.number().optional() }),
      nullable: z.object({ key: z.string(), value: z.number().nullable() }),
      describedField: z.object({ key: z.string().describe("the key"), value: z.number() }),
      meta: z.object({ key: z.string(), value: z.number() }).meta({ title: "row" }),
      describedObject: z.object({ key: z.string(), value: z.number() }).describe("a row"),
      strict: z.strictObject({ key: z.string(), value: z.number() }),
      loose: z.looseObject({ key: z.string(), value: z.number() }),
      coerce: z.object({ key: z.coerce.string(), value: z.number() }),
      email: z.object({ key: z.email(), value: z.number() }),
      literal: z.object({ key: z.literal("k"), value: z.number() }),
    };
    for (const [name, schema] of Object.entries(variants)) {
      const converted = jsonSchemaOf(declaration(name, schema));
      expect(converted, name).not.toBe(plain);
      expect(converted.text, name).toBe(zodText(schema));
    }
  });

  it("converts a schema with a field defined by a getter (a recursive row) as zod does", () => {
    const jsonSchemaOf = rowJsonSchemas();
    const tree: z.ZodType = z.object({
      key: z.string(),
      get children() {
        return z.array(tree);
      },
    });
    expect(jsonSchemaOf(declaration("tree", tree)).text).toBe(zodText(tree));
  });
});
