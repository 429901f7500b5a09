import { writeFileSync } from "node:fs";
import { planProject, planToJson, toSavedPlan } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { formatWarnings, warningsToJson } from "../format/compile-warnings.js";
import { formatPlan } from "../format/plan-report.js";

export async function planCommand(options: GlobalOptions & { json?: boolean; out?: string }): Promise<void> {
  const { project, plan, diffs } = await planProject({ projectDir: options.project, ...(options.asOf ? { asOf: options.asOf } : {}) });
  if (options.out) writeFileSync(options.out, `${JSON.stringify(toSavedPlan(plan, new Date()), null, 2)}\n`);
  process.stderr.write(formatWarnings(project.warnings));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...planToJson(plan), warnings: warningsToJson(project.warnings, project.config.projectDir), diffs }, null, 2)}\n`);
    return;
  }
  process.stdout.write(formatPlan(plan, (name) => project.datasets.get(name)!.partitions, diffs));
  if (options.out) process.stdout.write(`\nSaved to ${options.out}. \`reflow apply ${options.out}\` applies exactly this plan, or refuses if anything changed.\n`);
}
