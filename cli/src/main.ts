import { Command, CommanderError, Option } from "commander";
import { isReflowError, parseDayKey, ReflowError } from "@reflow/api";
import { applyCommand, backfillCommand } from "./commands/apply.js";
import { explainCommand } from "./commands/explain.js";
import { gcCommand } from "./commands/gc.js";
import { historyCommand } from "./commands/history.js";
import { lineageCommand } from "./commands/lineage.js";
import { migrateCommand } from "./commands/migrate.js";
import { planCommand } from "./commands/plan.js";
import { rollbackCommand } from "./commands/rollback.js";
import { statusCommand } from "./commands/status.js";
import { unlockCommand } from "./commands/unlock.js";
import { workerCommand } from "./commands/worker.js";
import { unpinCommand } from "./commands/unpin.js";
import { sourceMappedStack } from "./source-mapped-stack.js";
import { colors } from "./terminal.js";

/** Options every command takes. */
export interface GlobalOptions {
  readonly project: string;
  readonly asOf?: Date;
}

/** Runs the CLI; returns the exit code (0 ok, 1 error). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("reflow")
    .description("Data pipelines as code, built for exact backfill and reprocessing.")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  const withGlobals = (command: Command) =>
    command
      .addOption(new Option("-p, --project <dir>", "project folder").default(process.cwd(), "current directory"))
      .addOption(new Option("--as-of <time>", "plan as of this instant: YYYY-MM-DD (UTC midnight) or an ISO timestamp (default: now)").argParser(parseAsOf));

  // What every command that plans partitions to build takes (plan, apply, backfill).
  const withPlanOptions = (command: Command) =>
    withGlobals(command).option("--include-incomplete", "also plan partitions whose window has not closed (or closed less than `lag` ago); they are built again once complete");
  // What every command that takes the state's writer lock takes.
  const withWait = (command: Command) =>
    command.option("--wait [seconds]", "if another reflow holds the state's writer lock, wait for it (for ever, or up to SECONDS)", (v) => parseSeconds(v));
  // What every command that builds partitions takes (apply, backfill).
  const withRunOptions = (command: Command) =>
    withWait(withPlanOptions(command))
      .option("-y, --yes", "do not ask for confirmation")
      .option("-c, --concurrency <n>", "partitions built at once (overrides reflow.yaml)", (v) => parsePositiveInt(v, "--concurrency"))
      .addOption(new Option("--order <order>", "which ready partition starts first").choices(["plan", "oldest-first", "newest-first"]).default("plan", "plan order"))
      .option("--distribute", "let `reflow worker` processes sharing the PostgreSQL state build partitions too (this apply still records and publishes them)");

  // How changed datasets are applied (plan and apply).
  const withCategoryOptions = (command: Command) =>
    command
      .option("--breaking <name>", "rebuild NAME's full history and everything downstream (the default; repeatable, or comma-separated)", collectNames, [])
      .option("--non-breaking <name>", "rebuild NAME but not what reads it (repeatable, or comma-separated)", collectNames, [])
      .option("--forward-only <name>", "keep NAME's built partitions as they are; only new ones use the new code (repeatable, or comma-separated)", collectNames, [])
      .option("--from <key>", "forward-only changes rebuild their built partitions from this key on");

  withCategoryOptions(withPlanOptions(program.command("plan")))
    .description("show which partitions must be (re)built, and why")
    .option("--json", "print the plan as JSON")
    .option("-o, --out <file>", "also save the plan, for `reflow apply FILE`")
    .action(async (options) => planCommand(options));
  withCategoryOptions(withRunOptions(program.command("apply")))
    .description("build what the plan lists (or a plan saved with `plan --out`), in dependency order")
    .argument("[plan-file]", "a plan saved by `reflow plan --out`: applied exactly, without asking, or refused if stale")
    .option("--max-tasks <n>", "build only the first N partitions of the plan; the rest is left for the next apply", (v) => parsePositiveInt(v, "--max-tasks"))
    .action(async (planFile, options) => applyCommand(planFile, options));
  withRunOptions(program.command("backfill"))
    .description("(re)build a range of one dataset: by default only its missing or failed partitions")
    .argument("<dataset>", "the dataset to backfill")
    .option("--from <key>", "first partition of the range (default: the first); for multi partitions a key or a first-dimension value alone, e.g. a date for every region")
    .option("--to <key>", "last partition of the range (default: the last)")
    .option("--restate", "recompute every partition in the range, even those up to date")
    .option("--downstream", "also rebuild everything that reads them")
    .option("--json", "print the plan and the result as JSON (needs --yes)")
    .action(async (dataset, options) => backfillCommand(dataset, options));
  withGlobals(program.command("worker"))
    .description("build partitions of distributed runs (`apply --distribute`) from the shared PostgreSQL state, until Ctrl-C")
    .option("-c, --concurrency <n>", "units built at once (overrides reflow.yaml)", (v) => parsePositiveInt(v, "--concurrency"))
    .option("--lease <seconds>", "a unit this worker stops renewing for this long is claimed by another (default 60)", (v) => parseSeconds(v, "--lease"))
    .option("--exit-when-idle", "exit once no running run has a partition left that this worker could build")
    .action(async (options) => workerCommand(options));
  withGlobals(program.command("unlock"))
    .description("remove the state's writer lock left by a process that is gone")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (options) => unlockCommand(options));
  withGlobals(program.command("migrate"))
    .description("upgrade a state an older reflow wrote to this reflow's schema (apply does it too; plan, which never writes, needs it)")
    .action(async (options) => migrateCommand(options));
  withGlobals(program.command("explain"))
    .description("why a partition is (or is not) in the plan, down to the changed code")
    .argument("<dataset>", "the dataset")
    .argument("[partition]", "the partition key (omit for an unpartitioned dataset)")
    .option("--json", "print as JSON")
    .action(async (dataset, partition, options) => explainCommand(dataset, partition, options));
  withGlobals(program.command("status"))
    .description("per dataset: partitions built, outdated, failed and missing; last run")
    .option("--json", "print as JSON")
    .action(async (options) => statusCommand(options));
  withGlobals(program.command("history"))
    .description("list the kept versions of a dataset's partitions: run, fingerprint, rows, time, which is live")
    .argument("<dataset>", "the dataset")
    .argument("[partition]", "only this partition")
    .option("--json", "print as JSON")
    .action(async (dataset, partition, options) => historyCommand(dataset, partition, options));
  withWait(withGlobals(program.command("rollback")))
    .description("republish the previous version (or the one live before a run) of a dataset's partitions, atomically")
    .argument("<dataset>", "the dataset to roll back")
    .option("--from <key>", "first partition to roll back (default: the first built)")
    .option("--to <key>", "last partition to roll back, inclusive (default: the last built)")
    .option("--to-run <run>", "republish the versions that were live before run RUN", (v) => parsePositiveInt(v, "--to-run"))
    .option("--pin", "plan leaves the rolled-back partitions alone until the dataset's code changes")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (dataset, options) => rollbackCommand(dataset, options));
  withWait(withGlobals(program.command("unpin")))
    .description("end the pins `rollback --pin` recorded: plan rebuilds those partitions again while the code is unchanged")
    .argument("<dataset>", "the dataset")
    .option("--from <key>", "first partition to unpin")
    .option("--to <key>", "last partition to unpin, inclusive")
    .action(async (dataset, options) => unpinCommand(dataset, options));
  withWait(withGlobals(program.command("gc")))
    .description("delete versions past retention (retainVersions) and versions crashed runs never published; report the space freed")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (options) => gcCommand(options));
  withGlobals(program.command("lineage"))
    .description("print the lineage DAG")
    .addOption(new Option("-f, --format <format>", "output format").choices(["text", "mermaid", "dot", "json"]).default("text"))
    .action(async (options) => lineageCommand(options));

  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    reportError(error);
    return 1;
  }
}

export function reportError(error: unknown): void {
  if (isReflowError(error)) {
    process.stderr.write(`${colors.red(colors.bold(`error ${error.code}`))}: ${error.message}\n`);
  } else {
    const text = error instanceof Error ? (error.stack === undefined ? error.message : sourceMappedStack(error.stack)) : String(error);
    process.stderr.write(`${colors.red(colors.bold("internal error"))} (a bug in reflow; please report it): ${text}\n`);
  }
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Only unambiguous instants: a UTC day, or a timestamp that names its time zone. */
function parseAsOf(value: string): Date {
  const day = parseDayKey(value);
  if (day !== undefined) return new Date(day);
  const instant = ISO_WITH_ZONE.test(value) ? new Date(value) : undefined;
  if (instant && parseDayKey(value.slice(0, 10)) !== undefined && !Number.isNaN(instant.getTime())) return instant;
  throw new ReflowError(
    "REFLOW_INVALID_ARGUMENT",
    `--as-of: expected YYYY-MM-DD (UTC) or an ISO timestamp with a time zone such as 2024-03-31T12:00:00Z, got ${JSON.stringify(value)}`,
  );
}

function parseSeconds(value: string, option = "--wait"): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === "") {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `${option}: expected a number of seconds, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `--non-breaking a --non-breaking b,c` → [a, b, c]. */
function collectNames(value: string, previous: readonly string[]): string[] {
  return [...previous, ...value.split(",").map((name) => name.trim()).filter((name) => name !== "")];
}

function parsePositiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new ReflowError("REFLOW_INVALID_ARGUMENT", `${option}: expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  }
  return n;
}
