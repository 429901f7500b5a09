import { createHash } from "node:crypto";
import { z } from "zod";
import { ReflowError } from "@reflow/core";
import { planFieldChunks } from "./plan-json-chunks.js";
import { CHANGE_CATEGORIES, planToJson, TASK_REASONS, type CategoryFlags, type Plan, type PlanJson } from "./plan.js";

/**
 * `reflow plan --out FILE`: the plan as JSON plus what it was made from, so
 * that `reflow apply FILE` can run exactly it, or refuse if anything moved.
 */
export interface SavedPlan extends PlanJson {
  readonly format: typeof SAVED_PLAN_FORMAT;
  readonly createdAt: string;
  /** The fingerprint of every dataset the plan was made with. */
  readonly fingerprints: Readonly<Record<string, string>>;
  /** Digest of the whole plan, fingerprints and exact input partitions included. */
  readonly digest: string;
  /** The category flags the plan was made with: `apply FILE` plans with them again. */
  readonly categoryFlags?: CategoryFlags;
}

export const SAVED_PLAN_FORMAT = "reflow-plan/1";

export function planDigest(plan: Plan): string {
  const canonical = {
    asOf: plan.asOf.toISOString(),
    datasets: plan.datasets.map((d) => [d.name, d.change, d.fingerprint ?? null, d.previousFingerprint ?? null, d.category ?? null, d.why ?? null, d.metadata ?? null]),
    tasks: plan.tasks.map((t) => [t.dataset, t.partition, t.reason, t.fingerprint, t.inputs.map((i) => [i.dataset, i.partitions]), t.keep ?? false]),
    accepted: (plan.accepted ?? []).map((a) => [a.dataset, a.fingerprint, a.partitions]),
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

export function toSavedPlan(plan: Plan, createdAt: Date, categoryFlags?: CategoryFlags): SavedPlan {
  return savedPlanAround(plan, planToJson(plan), createdAt, categoryFlags);
}

/** `JSON.stringify(toSavedPlan(…), null, 2)` and a newline, in chunks of about 64 KB (see `planJsonChunks`). */
export function savedPlanChunks(plan: Plan, createdAt: Date, categoryFlags?: CategoryFlags): Generator<string, void, undefined> {
  return planFieldChunks(plan, (json) => savedPlanAround(plan, json, createdAt, categoryFlags));
}

/** A saved plan's fields around `json`, planToJson's (or `planFieldChunks`' placeholders). */
function savedPlanAround<J extends object>(plan: Plan, json: J, createdAt: Date, categoryFlags?: CategoryFlags) {
  const fingerprints: Record<string, string> = {};
  for (const d of plan.datasets) if (d.fingerprint) fingerprints[d.name] = d.fingerprint;
  return {
    format: SAVED_PLAN_FORMAT as typeof SAVED_PLAN_FORMAT,
    createdAt: createdAt.toISOString(),
    ...json,
    fingerprints,
    digest: planDigest(plan),
    ...(categoryFlags && Object.keys(categoryFlags).length > 0 ? { categoryFlags } : {}),
  };
}

const savedPlanSchema = z.object({
  format: z.literal(SAVED_PLAN_FORMAT),
  createdAt: z.string(),
  asOf: z.iso.datetime(),
  datasets: z.array(
    z.object({ name: z.string(), change: z.enum(["added", "modified", "unchanged", "removed"]), category: z.enum(CHANGE_CATEGORIES).optional(), why: z.string().optional() }),
  ),
  tasks: z.array(z.object({ dataset: z.string(), partition: z.string(), reason: z.enum(TASK_REASONS), incomplete: z.literal(true).optional() })),
  summary: z.object({ tasks: z.number(), datasets: z.number(), kept: z.number().optional() }),
  fingerprints: z.record(z.string(), z.string()),
  digest: z.string(),
  categoryFlags: z
    .object({
      breaking: z.array(z.string()).optional(),
      nonBreaking: z.array(z.string()).optional(),
      forwardOnly: z.array(z.string()).optional(),
      from: z.string().optional(),
    })
    .optional(),
});

/** Parses a saved plan file's text; `file` is only for messages. */
export function parseSavedPlan(text: string, file: string): SavedPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReflowError("REFLOW_PLAN_INVALID", `${file}: not a saved plan (invalid JSON: ${(error as Error).message})`);
  }
  const parsed = savedPlanSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ReflowError("REFLOW_PLAN_INVALID", `${file}: not a saved plan made by \`reflow plan --out\`: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as SavedPlan;
}

/**
 * Why a saved plan can no longer be applied as it is, or undefined if the
 * plan made now (at the saved plan's as-of) is the very same plan.
 */
export function stalePlanReason(saved: SavedPlan, current: Plan): string | undefined {
  if (planDigest(current) === saved.digest) return undefined;
  const now = new Map(current.datasets.map((d) => [d.name, d.fingerprint]));
  const codeChanged = [...new Set([...Object.keys(saved.fingerprints), ...now.keys()])]
    .filter((name) => saved.fingerprints[name] !== now.get(name))
    .sort();
  if (codeChanged.length > 0) {
    return `the code changed since the plan was made (${describeNames(codeChanged)})`;
  }
  return "the state changed since the plan was made (another apply ran)";
}

function describeNames(names: readonly string[]): string {
  const shown = names.slice(0, 3).join(", ");
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}
