import { rollbackDataset, UNPARTITIONED_KEY, type RollbackPlan } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { waitMs, type WaitOption } from "../wait-option.js";
import { colors, confirmOrRefuse, plural } from "../terminal.js";

export interface RollbackCommandOptions extends GlobalOptions, WaitOption {
  readonly from?: string;
  readonly to?: string;
  readonly toRun?: number;
  readonly pin?: boolean;
  readonly yes?: boolean;
}

export async function rollbackCommand(dataset: string, options: RollbackCommandOptions): Promise<void> {
  const outcome = await rollbackDataset({
    projectDir: options.project,
    dataset,
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    ...(options.toRun !== undefined ? { toRun: options.toRun } : {}),
    ...(options.pin ? { pin: true } : {}),
    ...waitMs(options),
    command: ["rollback", ...process.argv.slice(3)].join(" "),
    confirm: async (plan) => {
      process.stdout.write(formatRollback(plan));
      return confirmOrRefuse("\nRoll back?", { yes: options.yes, command: "rollback", without: "roll back" });
    },
  });
  const plan = outcome.plan;
  if (outcome.declined) {
    process.stdout.write("Rollback cancelled; nothing was changed.\n");
  } else if (outcome.runId === undefined) {
    process.stdout.write(
      `Nothing to roll back: the ${plural(plan.unchanged, "selected partition")} of ${plan.dataset} already ${plan.unchanged === 1 ? "has" : "have"} the version live before run #${plan.toRun}.\n`,
    );
  } else {
    process.stdout.write(
      `\n${colors.green(colors.bold("Rollback complete:"))} ${plural(plan.steps.length, "partition")} of ${plan.dataset} republished${plan.pin ? " and pinned" : ""} (run #${outcome.runId}).\n`,
    );
  }
}

const LISTED = 20;

/** What a rollback republishes, and what the next plan will make of it. */
export function formatRollback(plan: RollbackPlan): string {
  const target = plan.toRun === undefined ? "its previous version" : `the version live before run #${plan.toRun}`;
  const lines = [`Roll back ${plural(plan.steps.length, "partition")} of ${plan.dataset} to ${target}, in one atomic publish:`];
  for (const step of plan.steps.slice(0, LISTED)) {
    const key = step.partition === UNPARTITIONED_KEY ? "(unpartitioned)" : step.partition;
    lines.push(`  ${key}: version ${step.fromVersion} → ${step.toVersion} (built by run #${step.toRunId}, ${plural(step.rows, "row")})`);
  }
  if (plan.steps.length > LISTED) lines.push(`  … and ${(plan.steps.length - LISTED).toLocaleString("en-US")} more`);
  if (plan.unchanged > 0) lines.push(`${plural(plan.unchanged, "more selected partition")} already ${plan.unchanged === 1 ? "has" : "have"} that version and ${plan.unchanged === 1 ? "is" : "are"} left alone.`);
  lines.push(
    plan.pin
      ? `Pinned: \`reflow plan\` leaves them alone until ${plan.dataset}'s code changes; datasets that read them are rebuilt (upstream-changed).`
      : `Until ${plan.dataset}'s code changes, \`reflow plan\` rebuilds them (code-changed; --pin leaves them alone) and the datasets that read them (upstream-changed).`,
  );
  return `${lines.join("\n")}\n`;
}
