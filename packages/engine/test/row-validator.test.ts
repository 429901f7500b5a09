import { describe, expect, it } from "vitest";
import { z } from "zod";
import { rowValidator } from "../src/row-validator.js";

// Rows that exercise every branch of the fast path and of its fallback to zod.
const rows: unknown[] = [
  { id: 1, user: "a", amount: 2.5, vip: true, note: null },
  { id: 1, user: "a", amount: 2.5, vip: false, note: "n", extra: "stripped" },
  { id: 1.5, user: "a", amount: 1, vip: true, note: null },
  { id: Number.MAX_SAFE_INTEGER + 1, user: "a", amount: 1, vip: true, note: null },
  { id: "1", user: "a", amount: 1, vip: true, note: null },
  { id: 1, user: 2, amount: 1, vip: true, note: null },
  { id: 1, user: "a", amount: Number.NaN, vip: true, note: null },
  { id: 1, user: "a", amount: Number.POSITIVE_INFINITY, vip: true, note: null },
  { id: 1, user: "a", amount: 1, vip: 1, note: null },
  { id: 1, user: null, amount: 1, vip: true, note: null },
  { id: 1, user: "a", amount: 1, vip: true },
  { id: 1, user: "a", amount: 1, vip: true, note: undefined },
  { user: "a", amount: 1, vip: true, note: null },
  [1, "a", 1, true, null],
  null,
  "row",
  7,
];

describe("rowValidator", () => {
  const schema = z.object({ id: z.number().int(), user: z.string(), amount: z.number(), vip: z.boolean(), note: z.string().nullable() });

  it("accepts, rejects and returns exactly what zod's safeParse does, with zod's errors", () => {
    const validate = rowValidator(schema);
    for (const row of rows) {
      const fast = validate(row);
      const zod = schema.safeParse(row);
      expect(fast.success, JSON.stringify(row)).toBe(zod.success);
      if (fast.success && zod.success) {
        expect(fast.data).toStrictEqual(zod.data);
        expect(Object.keys(fast.data as object)).toEqual(Object.keys(zod.data));
      }
      if (!fast.success && !zod.success) expect(fast.error.issues).toEqual(zod.error.issues);
    }
  });

  it("builds the row itself for a simple schema (the fast path), but leaves other schemas to zod", () => {
    const calls: unknown[] = [];
    const spy = <S extends z.ZodType>(s: S): S => {
      const original = s.safeParse.bind(s);
      (s as { safeParse: unknown }).safeParse = (value: unknown) => {
        calls.push(value);
        return original(value);
      };
      return s;
    };
    const simple = spy(z.object({ id: z.number().int(), user: z.string() }));
    expect(rowValidator(simple)({ id: 1, user: "a" })).toEqual({ success: true, data: { id: 1, user: "a" } });
    expect(calls).toEqual([]);
    expect(rowValidator(simple)({ id: 1.5, user: "a" }).success).toBe(false);
    expect(calls).toEqual([{ id: 1.5, user: "a" }]);

    calls.length = 0;
    const others = [
      z.object({ user: z.string().min(2) }),
      z.object({ user: z.string().optional() }),
      z.object({ user: z.coerce.string() }),
      z.object({ user: z.string().transform((s) => s.toUpperCase()) }),
      z.object({ user: z.string().default("x") }),
      z.object({ user: z.string() }).strict(),
      z.object({ user: z.string() }).refine((r) => r.user !== "b"),
      z.object({ n: z.number().min(0) }),
      z.object({ e: z.enum(["a", "b"]) }),
    ].map(spy);
    for (const s of others) rowValidator(s)({ user: "ab", n: 1, e: "a" });
    expect(calls).toHaveLength(others.length);
  });

  it("rejects with zod's own result where zod's rules differ from plain types (a refinement on the object)", () => {
    const refined = z.object({ user: z.string() }).refine((r) => r.user !== "b", { message: "no b" });
    const result = rowValidator(refined)({ user: "b" });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues[0]?.message).toBe("no b");
  });
});
