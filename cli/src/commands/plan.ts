import { planProject, planToJson } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { formatPlan } from "../format/plan-report.js";

export async function planCommand(options: GlobalOptions & { json?: boolean }): Promise<void> {
  const { project, plan } = await planProject({ projectDir: options.project, ...(options.asOf ? { asOf: options.asOf } : {}) });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
    return;
  }
  process.stdout.write(formatPlan(plan, (name) => project.datasets.get(name)!.partitions));
}
