import { explainPartition, formatFingerprintChange, UNPARTITIONED_KEY, type Explanation, type ExplanationStep } from "@reflow/api";
import type { GlobalOptions } from "../main.js";

export async function explainCommand(dataset: string, partition: string | undefined, options: GlobalOptions & { json?: boolean }): Promise<void> {
  const explanation = await explainPartition({
    projectDir: options.project,
    dataset,
    ...(partition !== undefined ? { partition } : {}),
    ...(options.asOf ? { asOf: options.asOf } : {}),
  });
  process.stdout.write(options.json ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
}

/**
 * `revenue_total (unpartitioned) is in the plan: upstream-changed (…)`, then
 * one `← cause` line per link, down to the changed declaration.
 */
export function formatExplanation(explanation: Explanation): string {
  const [first, ...rest] = explanation.chain;
  const lines = [
    first!.kept
      ? `${label(first!)} is in the plan but not rebuilt: what it reads changes only by a non-breaking change, so its live version stays and apply records the new input versions`
      : explanation.inPlan
      ? `${label(first!)} is in the plan: ${first!.reason}${describe(first!)}`
      : `${label(first!)} is up to date${first!.detail ? ` (${first!.detail})` : ""}: it is not in the plan.`,
    ...causes(first!),
  ];
  for (const step of rest) {
    lines.push(`  ← ${label(step)}: ${step.reason ?? step.detail ?? "built"}${step.reason ? describe(step) : ""}`, ...causes(step));
  }
  return `${lines.join("\n")}\n`;
}

function label(step: ExplanationStep): string {
  return `${step.dataset} ${step.partition === UNPARTITIONED_KEY ? "(unpartitioned)" : step.partition}`;
}

function describe(step: ExplanationStep): string {
  if (step.changedInputs && step.changedInputs.length > 1) return ` (${step.changedInputs.length.toLocaleString("en-US")} input partitions changed; the first is followed)`;
  return step.detail ? ` (${step.detail})` : "";
}

function causes(step: ExplanationStep): string[] {
  return (step.changes ?? []).map((change) => `  ← ${formatFingerprintChange(change)}`);
}
