import { createHash } from "node:crypto";
import type { ExecutableDataset } from "./execute-plan.js";

/**
 * What a claimer's code must share with the coordinator's to build a unit of
 * `dataset` (the work queue's `fingerprint`): the dataset's fingerprint and,
 * when it reads inputs, the warehouse columns of each. The fingerprint alone
 * would let a worker whose input schema drifted read other columns under the
 * same transform code. Starts with the dataset's fingerprint, so a short form
 * still names the code.
 */
export function unitFingerprint(dataset: ExecutableDataset, datasets: ReadonlyMap<string, ExecutableDataset>): string {
  if (dataset.inputs.length === 0) return dataset.fingerprint;
  const inputs = [...new Set(dataset.inputs.map((input) => input.dataset))].sort().map((name) => [name, datasets.get(name)?.columns ?? null]);
  return `${dataset.fingerprint}+${createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16)}`;
}

/** The dataset's own fingerprint in a unit fingerprint. */
export function codeFingerprintOf(unitFingerprint: string): string {
  return unitFingerprint.split("+")[0]!;
}
