import { createHash } from "node:crypto";
import { z } from "zod";
import { ReflowError } from "@reflow/core";
import { jsonStrings } from "./json-strings.js";
import { PLAN_JSON_CHUNK_LENGTH, planFieldChunks } from "./plan-json-chunks.js";
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

/**
 * The SHA-256 of `JSON.stringify` of `{ asOf, datasets, tasks, accepted }`,
 * each dataset, task (inputs and `keep` included) and acceptance as an array
 * of its fields. The tasks' part is hashed as it is printed, in chunks, without
 * an array per task and input nor one string of them all (223,745 tasks in the plan benchmark).
 */
export function planDigest(plan: Plan): string {
  const hash = createHash("sha256");
  const datasets = plan.datasets.map((d) => [d.name, d.change, d.fingerprint ?? null, d.previousFingerprint ?? null, d.category ?? null, d.why ?? null, d.metadata ?? null]);
  hash.update(`{"asOf":${JSON.stringify(plan.asOf.toISOString())},"datasets":${JSON.stringify(datasets)},"tasks":[`);
  const quoted = jsonStrings();
  let text = "";
  for (let i = 0; i < plan.tasks.length; i++) {
    const t = plan.tasks[i]!;
    let inputs = "";
    for (let j = 0; j < t.inputs.length; j++) {
      const { dataset, partitions } = t.inputs[j]!;
      inputs += `${j === 0 ? "" : ","}[${quoted(dataset)},${partitions.length === 1 ? `[${quoted(partitions[0]!)}]` : JSON.stringify(partitions)}]`;
    }
    text += `${i === 0 ? "" : ","}[${quoted(t.dataset)},${quoted(t.partition)},${quoted(t.reason)},${quoted(t.fingerprint)},[${inputs}],${t.keep ?? false}]`;
    if (text.length >= PLAN_JSON_CHUNK_LENGTH) {
      hash.update(text);
      text = "";
    }
  }
  const accepted = (plan.accepted ?? []).map((a) => [a.dataset, a.fingerprint, a.partitions]);
  hash.update(`${text}],"accepted":${JSON.stringify(accepted)}}`);
  return hash.digest("hex");
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
