import { detectNonBreaking, type CompiledProject, type FingerprintManifest } from "@reflow/compiler";
import { ReflowError } from "@reflow/core";
import type { CategoryChoice, CategoryFlags } from "@reflow/planner";
import type { StateSnapshot } from "@reflow/state";
import { checkPartitionKey, declaredDataset } from "./declared-dataset.js";

/** The categories of the datasets whose code changed, and `--from`, ready for the planner. */
export interface ResolvedCategories {
  readonly categories: ReadonlyMap<string, CategoryChoice>;
  readonly forwardFrom?: string;
}

const FLAGS = [
  ["breaking", "--breaking"],
  ["nonBreaking", "--non-breaking"],
  ["forwardOnly", "--forward-only"],
] as const;

/** Refuses flags naming datasets that are not declared, or one dataset twice; needs no state, so call it before opening any. */
export function checkCategoryFlags(project: CompiledProject, flags: CategoryFlags): void {
  const seen = new Map<string, string>();
  for (const [key, flag] of FLAGS) {
    for (const name of flags[key] ?? []) {
      declaredDataset(project, name);
      const other = seen.get(name);
      if (other) throw new ReflowError("REFLOW_INVALID_ARGUMENT", `${name} is given to both ${other} and ${flag}: choose one category`, { subject: name });
      seen.set(name, flag);
    }
  }
}

/**
 * Decides how each dataset whose code changed since it was last applied is
 * applied: a flag wins, then the dataset's `reprocess` option, then
 * auto-detection of a non-breaking change, else breaking. Refuses flags that
 * name a dataset whose code did not change (nothing to categorize: a likely
 * mistake), and `--from` without a forward-only change it fits.
 */
export async function resolveCategories(
  project: CompiledProject,
  snapshot: StateSnapshot,
  flags: CategoryFlags,
  /** The recorded manifests of these fingerprints (for auto-detection). */
  manifestsOf: (fingerprints: readonly string[]) => Promise<ReadonlyMap<string, string>>,
): Promise<ResolvedCategories> {
  checkCategoryFlags(project, flags);
  const flagged = new Map<string, CategoryChoice>();
  for (const [key, flag] of FLAGS) {
    const category = key === "nonBreaking" ? "non-breaking" : key === "forwardOnly" ? "forward-only" : "breaking";
    for (const name of flags[key] ?? []) {
      const previous = snapshot.datasets.get(name);
      const now = project.datasets.get(name)!.fingerprint;
      if (!previous) {
        throw new ReflowError("REFLOW_INVALID_ARGUMENT", `${flag} ${name}: ${name} was never applied, so every partition is built anyway; nothing was changed`, { subject: name });
      }
      if (previous.fingerprint === now) {
        throw new ReflowError(
          "REFLOW_INVALID_ARGUMENT",
          `${flag} ${name}: the code of ${name} did not change since it was last applied, so there is nothing to reprocess; nothing was changed`,
          { subject: name },
        );
      }
      flagged.set(name, Object.freeze({ category, why: flag }));
    }
  }

  const modified = project.order.filter((name) => {
    const previous = snapshot.datasets.get(name);
    return previous !== undefined && previous.fingerprint !== project.datasets.get(name)!.fingerprint;
  });
  const toDetect = modified.filter((name) => !flagged.has(name) && project.datasets.get(name)!.declaration.reprocess === undefined);
  const manifests = toDetect.length > 0 ? await manifestsOf(toDetect.map((name) => snapshot.datasets.get(name)!.fingerprint)) : new Map<string, string>();
  const categories = new Map<string, CategoryChoice>();
  for (const name of modified) {
    const dataset = project.datasets.get(name)!;
    const reprocess = dataset.declaration.reprocess;
    if (flagged.has(name)) categories.set(name, flagged.get(name)!);
    else if (reprocess !== undefined) categories.set(name, Object.freeze({ category: reprocess, why: `reprocess: "${reprocess}"` }));
    else categories.set(name, autoDetected(project, name, manifests.get(snapshot.datasets.get(name)!.fingerprint)));
  }

  if (flags.from === undefined) return { categories };
  const forwardOnly = [...categories].filter(([, choice]) => choice.category === "forward-only").map(([name]) => name);
  if (forwardOnly.length === 0) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `--from ${flags.from}: no dataset in this plan is forward-only (--forward-only NAME, or reprocess: "forward-only" on a changed dataset); nothing was changed`);
  }
  for (const name of forwardOnly) checkPartitionKey(project.datasets.get(name)!, flags.from, "--from");
  return { categories, forwardFrom: flags.from };
}

function autoDetected(project: CompiledProject, name: string, manifestJson: string | undefined): CategoryChoice {
  // Without the previous definition there is nothing to compare with.
  if (manifestJson === undefined) return Object.freeze({ category: "breaking", why: "default" });
  const readers = project.order.filter((other) => project.datasets.get(other)!.inputs.some((input) => input.dataset === name)).map((other) => project.datasets.get(other)!);
  const verdict = detectNonBreaking(JSON.parse(manifestJson) as FingerprintManifest, project.datasets.get(name)!, readers);
  if (verdict.nonBreaking) return Object.freeze({ category: "non-breaking", why: verdict.why! });
  return Object.freeze({ category: "breaking", why: verdict.why ? `default; ${verdict.why}` : "default" });
}
