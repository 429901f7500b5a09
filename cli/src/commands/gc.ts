import { collectGarbage, UNPARTITIONED_KEY, type GcPlan, type Retention } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { waitMs, type WaitOption } from "../wait-option.js";
import { colors, confirmOrRefuse, plural } from "../terminal.js";

export async function gcCommand(options: GlobalOptions & WaitOption & { yes?: boolean }): Promise<void> {
  const outcome = await collectGarbage({
    projectDir: options.project,
    command: ["gc", ...process.argv.slice(3)].join(" "),
    ...waitMs(options),
    confirm: async (plan) => {
      process.stdout.write(formatGcPlan(plan));
      return confirmOrRefuse("\nDelete them?", { yes: options.yes, command: "gc", without: "delete" });
    },
  });
  if (outcome.declined) {
    process.stdout.write("gc cancelled; nothing was deleted.\n");
  } else if (!outcome.freed) {
    process.stdout.write(`Nothing to delete: no version is past retention (${describeRetention(outcome.plan)}) or abandoned.\n`);
  } else {
    const { versions, rows, bytes } = outcome.freed;
    process.stdout.write(
      `\n${colors.green(colors.bold("gc complete:"))} deleted ${plural(versions, "version")}, ${plural(rows, "row")}, ${plural(bytes, "byte")} freed.\n`,
    );
  }
}

const LISTED = 20;

/** `retainVersions: 3`, then the datasets that declare their own: `retainVersions: 3, events: 10`. */
function describeRetention(retention: Retention): string {
  return [`retainVersions: ${retention.retainVersions}`, ...Object.entries(retention.byDataset).map(([dataset, n]) => `${dataset}: ${n}`)].join(", ");
}

export function formatGcPlan(plan: GcPlan): string {
  const lines = [`Delete ${plural(plan.versions.length, "version")} (${describeRetention(plan)}; live versions are never deleted):`];
  for (const v of plan.versions.slice(0, LISTED)) {
    const key = v.partition === UNPARTITIONED_KEY ? "(unpartitioned)" : v.partition;
    const origin = [...(v.runId !== undefined ? [`run #${v.runId}`] : []), ...(v.rows !== undefined ? [plural(v.rows, "row")] : [])].join(", ");
    const why = v.reason === "past-retention" ? "past retention" : "abandoned: never published";
    lines.push(`  ${v.dataset} ${key}: version ${v.version}${origin ? ` (${origin})` : ""}, ${why}`);
  }
  if (plan.versions.length > LISTED) lines.push(`  … and ${(plan.versions.length - LISTED).toLocaleString("en-US")} more`);
  return `${lines.join("\n")}\n`;
}
