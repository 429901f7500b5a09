import {
  applyProject,
  planToJson,
  isReflowError,
  ReflowError,
  UNPARTITIONED_KEY,
  type ApplyResult,
  type BackfillRequest,
  type CompiledProject,
  type EngineEvent,
  type Plan,
  type TaskOrder,
} from "@reflow/api";
import cliProgress from "cli-progress";
import type { GlobalOptions } from "../main.js";
import { waitMs, type WaitOption } from "../wait-option.js";
import { categoryFlagsOf, type CategoryOptions } from "../category-flags.js";
import { formatWarnings, warningsToJson } from "../format/compile-warnings.js";
import { formatPlan } from "../format/plan-report.js";
import { askYesNo, colors, isInteractive, plural } from "../terminal.js";

export interface ApplyCommandOptions extends GlobalOptions, CategoryOptions, WaitOption {
  readonly yes?: boolean;
  readonly concurrency?: number;
  readonly maxTasks?: number;
  readonly order?: TaskOrder;
  readonly includeIncomplete?: boolean;
  readonly distribute?: boolean;
}

export interface BackfillCommandOptions extends ApplyCommandOptions {
  readonly from?: string;
  readonly to?: string;
  readonly restate?: boolean;
  readonly downstream?: boolean;
  readonly json?: boolean;
}

/** `reflow backfill DATASET …`: apply, narrowed to a range of one dataset (and its readers). */
export async function backfillCommand(dataset: string, options: BackfillCommandOptions): Promise<void> {
  if (options.json && !options.yes) {
    throw new ReflowError("REFLOW_CONFIRMATION_REQUIRED", "backfill --json prints JSON, not a question: add --yes");
  }
  const backfill = {
    dataset,
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
    restate: options.restate ?? false,
    downstream: options.downstream ?? false,
  };
  return applyCommand(undefined, options, backfill);
}

export async function applyCommand(planFile: string | undefined, options: ApplyCommandOptions & { json?: boolean }, backfill?: BackfillRequest): Promise<void> {
  const json = options.json === true;
  if (planFile && options.asOf) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", "--as-of cannot be used with a saved plan: it is applied as of the time it was made");
  }
  if (planFile && options.includeIncomplete) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", "--include-incomplete cannot be used with a saved plan: it is applied as it was made");
  }
  const started = Date.now();
  const progress = isInteractive() && !json ? new ProgressDisplay() : undefined;
  const stop = stopOnInterrupt();
  // Warnings before the plan they may make wrong, once, whichever way the apply goes.
  let warned = false;
  const warn = (project: CompiledProject): void => {
    if (!warned) process.stderr.write(formatWarnings(project.warnings));
    warned = true;
  };
  const printPlan = (plan: Plan, project: CompiledProject) => {
    warn(project);
    process.stdout.write(formatPlan(plan, (name) => project.datasets.get(name)!.partitions));
    if (options.order === "newest-first") process.stdout.write(newestFirstNote(plan, project));
  };
  try {
    const outcome = await applyProject({
      projectDir: options.project,
      ...(options.asOf ? { asOf: options.asOf } : {}),
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.maxTasks ? { maxTasks: options.maxTasks } : {}),
      ...(options.order ? { order: options.order } : {}),
      ...(options.includeIncomplete ? { includeIncomplete: true } : {}),
      ...(options.distribute ? { distribute: true } : {}),
      ...(planFile ? { planFile } : {}),
      ...waitMs(options),
      ...(backfill ? { backfill } : { categoryFlags: categoryFlagsOf(options) }),
      command: process.argv.slice(2).join(" "),
      signal: stop.signal,
      confirm: async (plan, project) => {
        warn(project);
        if (json) return true;
        printPlan(plan, project);
        if (options.yes) return true;
        if (!isInteractive()) {
          throw new ReflowError("REFLOW_CONFIRMATION_REQUIRED", "apply asks for confirmation, and there is no terminal to ask on: run `reflow apply --yes` to apply without asking");
        }
        return askYesNo("\nApply this plan?");
      },
      ...(planFile ? { onPlan: printPlan } : {}),
      onEvent: (event) => {
        progress?.update(event);
        // Without a terminal (CI logs) each retry gets a line; on a terminal the bar shows it.
        if (!progress && event.type === "task-retrying") process.stderr.write(`${retryLine(event)}\n`);
      },
    });
    progress?.stop();
    warn(outcome.project);
    if (json) {
      process.stdout.write(`${JSON.stringify({ plan: planToJson(outcome.plan), warnings: warningsToJson(outcome.project.warnings, outcome.project.config.projectDir), ...(outcome.reconciled ? { reconciled: outcome.reconciled } : {}), result: outcome.result ?? null }, null, 2)}\n`);
      if (outcome.result && outcome.result.status !== "succeeded") process.exitCode = outcome.result.status === "interrupted" ? 130 : 1;
      return;
    }
    if (outcome.reconciled) {
      const r = outcome.reconciled;
      process.stdout.write(
        `Settled ${r.runs.length === 1 ? `run #${r.runs[0]}` : `runs ${r.runs.map((id) => `#${id}`).join(", ")}`}, left unfinished by a process that stopped: ${plural(r.published, "partition")} had been published, ${plural(r.interrupted, "task")} had not.\n`,
      );
    }
    if (!outcome.result) {
      if (outcome.declined) process.stdout.write("Apply cancelled; nothing was changed.\n");
      else process.stdout.write(formatPlan(outcome.plan, (name) => outcome.project.datasets.get(name)!.partitions));
      return;
    }
    report(outcome.result, Date.now() - started);
    if (outcome.result.warnings.length > 0) {
      process.stdout.write(
        `${[colors.yellow("Check warnings (these partitions were published anyway):"), ...capped(outcome.result.warnings.map((w) => `  ${w.dataset} ${showKey(w.partition)}: ${w.error}`))].join("\n")}\n`,
      );
    }
    if (outcome.plan.deferred) {
      process.stdout.write(
        outcome.plan.deferred.by === "max-tasks"
          ? `${plural(outcome.plan.deferred.tasks, "partition")} left for the next apply (--max-tasks).\n`
          : `${plural(outcome.plan.deferred.tasks, "other partition")} of the plan outside this backfill: \`reflow plan\` lists them.\n`,
      );
    }
    if (outcome.result.status === "failed") process.exitCode = 1;
  } finally {
    progress?.stop();
    stop.dispose();
  }
}

/**
 * Ctrl-C once: start nothing new, let running partitions finish and be
 * recorded. Twice: exit at once; whatever was published is recorded or
 * settled by the next apply, and nothing half-written is ever live.
 */
function stopOnInterrupt(): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      process.stderr.write("\nStopped at once. Run `reflow apply` to settle and finish the rest.\n");
      process.exit(130);
    }
    process.stderr.write("\nStopping: no new partitions start; waiting for running ones (Ctrl-C again to stop at once)…\n");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

function report(result: ApplyResult, elapsedMs: number): void {
  const seconds = (elapsedMs / 1000).toFixed(1);
  if (result.status === "interrupted") {
    process.stderr.write(
      `\n${colors.yellow(colors.bold("Apply interrupted:"))} ${result.succeeded.toLocaleString("en-US")} built, ${unchangedCount(result)}${result.failed.length.toLocaleString("en-US")} failed, ${result.notStarted.toLocaleString("en-US")} not started (run #${result.runId}, ${seconds}s). Everything built was published and recorded; run \`reflow apply\` to finish.\n`,
    );
    process.exitCode = 130;
    return;
  }
  if (result.status === "succeeded") {
    process.stdout.write(
      `\n${colors.green(colors.bold("Apply complete:"))} ${plural(result.succeeded, "partition")} built, ${plural(result.rowsWritten, "row")} written${cutoff(result)} (run #${result.runId}, ${seconds}s).\n`,
    );
    return;
  }
  const lines = [
    "",
    `${colors.red(colors.bold("Apply failed:"))} ${result.succeeded.toLocaleString("en-US")} built, ${unchangedCount(result)}${result.failed.length.toLocaleString("en-US")} failed, ${result.blocked.length.toLocaleString("en-US")} blocked (run #${result.runId}, ${seconds}s).`,
    "Failed:",
    ...capped(result.failed.map((f) => `  ${f.error}`)),
  ];
  if (result.blocked.length > 0) {
    lines.push("Blocked (not run because an input failed):");
    lines.push(...capped(result.blocked.map((b) => `  ${b.dataset} ${showKey(b.partition)}: ${b.error}`)));
  }
  lines.push("Nothing was published for these partitions: those built before keep their previous rows. Fix the cause, then run `reflow plan` and `reflow apply` again.");
  process.stderr.write(`${lines.join("\n")}\n`);
}

/** `; 3 left as they were: what they read came out unchanged` (early cutoff), or nothing. */
function cutoff(result: ApplyResult): string {
  const kept = result.kept > 0 ? `; ${result.kept.toLocaleString("en-US")} not rebuilt: what ${result.kept === 1 ? "it reads" : "they read"} changed only by a non-breaking change` : "";
  if (result.unchanged === 0) return kept;
  return `; ${result.unchanged.toLocaleString("en-US")} left as ${result.unchanged === 1 ? "it was" : "they were"}: what ${result.unchanged === 1 ? "it reads" : "they read"} came out unchanged${kept}`;
}

function unchangedCount(result: ApplyResult): string {
  return result.unchanged === 0 ? "" : `${result.unchanged.toLocaleString("en-US")} unchanged, `;
}

function showKey(partition: string): string {
  return partition === UNPARTITIONED_KEY ? "(unpartitioned)" : partition;
}

/** `retrying payments 2024-01-03 (attempt 2 of 3) in 0.5s after: REFLOW_TRANSFORM_FAILED: …` */
function retryLine(event: Extract<EngineEvent, { type: "task-retrying" }>): string {
  return `retrying ${event.task.dataset} ${showKey(event.task.partition)} (attempt ${event.attempt + 1} of ${event.attempts}) in ${(event.delayMs / 1000).toFixed(1)}s after: ${event.error}`;
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
    } else if (event.type === "task-retrying") {
      this.bar?.update({ current: `retrying ${event.task.dataset} ${event.task.partition} (attempt ${event.attempt + 1} of ${event.attempts})` });
    } else if (event.type === "run-stopping") {
      // The error itself is printed once the run has stopped; meanwhile the bar says why it stands still.
      const code = isReflowError(event.error) ? event.error.code : "an error";
      this.bar?.update({ current: `stopping after ${code}: waiting for ${plural(event.underWay, "build")} under way to end` });
    } else {
      this.bar?.increment();
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

/**
 * A dataset that reads its previous partition can only be built oldest-first:
 * each partition waits for the one before. --order newest-first still applies to the rest.
 */
function newestFirstNote(plan: Plan, project: CompiledProject): string {
  const selfReading = [...new Set(plan.tasks.map((t) => t.dataset))].filter((name) => project.datasets.get(name)!.inputs.some((input) => input.dataset === name));
  if (selfReading.length === 0) return "";
  return `\nNote: ${selfReading.join(", ")} ${selfReading.length === 1 ? "reads its" : "read their"} previous partition, so ${selfReading.length === 1 ? "it is" : "they are"} built oldest-first whatever --order says.\n`;
}
