import { applyProject, ReflowError, UNPARTITIONED_KEY, type ApplyResult, type EngineEvent } from "@reflow/api";
import cliProgress from "cli-progress";
import type { GlobalOptions } from "../main.js";
import { formatPlan } from "../format/plan-report.js";
import { askYesNo, colors, isInteractive, plural } from "../terminal.js";

export async function applyCommand(options: GlobalOptions & { yes?: boolean; concurrency?: number }): Promise<void> {
  const started = Date.now();
  const progress = isInteractive() ? new ProgressDisplay() : undefined;
  const outcome = await applyProject({
    projectDir: options.project,
    ...(options.asOf ? { asOf: options.asOf } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    command: ["apply", ...process.argv.slice(3)].join(" "),
    confirm: async (plan, project) => {
      process.stdout.write(formatPlan(plan, (name) => project.datasets.get(name)!.partitions));
      if (options.yes) return true;
      if (!isInteractive()) {
        throw new ReflowError("REFLOW_CONFIRMATION_REQUIRED", "apply asks for confirmation, and there is no terminal to ask on: run `reflow apply --yes` to apply without asking");
      }
      return askYesNo("\nApply this plan?");
    },
    onEvent: (event) => progress?.update(event),
  });
  progress?.stop();
  if (!outcome.result) {
    if (outcome.declined) process.stdout.write("Apply cancelled; nothing was changed.\n");
    else process.stdout.write(formatPlan(outcome.plan, (name) => outcome.project.datasets.get(name)!.partitions));
    return;
  }
  report(outcome.result, Date.now() - started);
  if (outcome.result.status !== "succeeded") process.exitCode = 1;
}

function report(result: ApplyResult, elapsedMs: number): void {
  const seconds = (elapsedMs / 1000).toFixed(1);
  if (result.status === "succeeded") {
    process.stdout.write(
      `\n${colors.green(colors.bold("Apply complete:"))} ${plural(result.succeeded, "partition")} built, ${plural(result.rowsWritten, "row")} written (run #${result.runId}, ${seconds}s).\n`,
    );
    return;
  }
  const lines = [
    "",
    `${colors.red(colors.bold("Apply failed:"))} ${result.succeeded.toLocaleString("en-US")} built, ${result.failed.length.toLocaleString("en-US")} failed, ${result.blocked.length.toLocaleString("en-US")} blocked (run #${result.runId}, ${seconds}s).`,
    "Failed:",
    ...capped(result.failed.map((f) => `  ${f.error}`)),
  ];
  if (result.blocked.length > 0) {
    lines.push("Blocked (not run because an input failed):");
    lines.push(...capped(result.blocked.map((b) => `  ${b.dataset} ${b.partition === UNPARTITIONED_KEY ? "(unpartitioned)" : b.partition}: ${b.error}`)));
  }
  lines.push("Nothing was published for these partitions: those built before keep their previous rows. Fix the cause, then run `reflow plan` and `reflow apply` again.");
  process.stderr.write(`${lines.join("\n")}\n`);
}

const LISTED = 20;

/** At most LISTED lines; `reflow status` lists every failure. */
function capped(lines: readonly string[]): string[] {
  if (lines.length <= LISTED) return [...lines];
  return [...lines.slice(0, LISTED), `  … and ${(lines.length - LISTED).toLocaleString("en-US")} more (\`reflow status\` lists every failed partition)`];
}

/** A progress bar on a terminal; nothing elsewhere (logs get the summary only). */
class ProgressDisplay {
  private bar?: cliProgress.SingleBar;

  update(event: EngineEvent): void {
    if (event.type === "run-started") {
      this.bar = new cliProgress.SingleBar(
        { format: "applying [{bar}] {value}/{total} partitions | {current}", hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(event.total, 0, { current: "" });
    } else if (event.type === "task-started") {
      this.bar?.update({ current: `${event.task.dataset} ${event.task.partition}` });
    } else {
      this.bar?.increment();
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}
