import type { CheckContext, CheckRun, DatasetCheck, Row } from "@reflow/core";
import { TaskError } from "./task-error.js";

/**
 * Runs a dataset's checks over one partition version as its rows stream by.
 * `finish` throws REFLOW_CHECK_FAILED if a blocking check failed (so nothing
 * is published) and returns the messages of failed "warn" checks.
 */
export class PartitionAudit {
  private readonly runs: readonly { readonly check: DatasetCheck; readonly run: CheckRun; threw?: unknown }[];

  constructor(checks: readonly DatasetCheck[], context: CheckContext) {
    this.runs = checks.map((check) => ({ check, run: check.start(context) }));
  }

  add(row: Row, index: number): void {
    for (const entry of this.runs) {
      if (entry.threw !== undefined) continue;
      try {
        entry.run.add(row, index);
      } catch (error) {
        entry.threw = error ?? "undefined";
      }
    }
  }

  async finish(): Promise<string[]> {
    return checkVerdict(await this.outcomes());
  }

  /** Each check's problem (undefined when it passed), in declaration order. */
  async outcomes(): Promise<CheckOutcome[]> {
    const outcomes: CheckOutcome[] = [];
    for (const { check, run, threw } of this.runs) {
      outcomes.push({ check, problem: await problemOf(() => (threw !== undefined ? Promise.reject(threw) : run.finish())) });
    }
    return outcomes;
  }
}

export interface CheckOutcome {
  readonly check: DatasetCheck;
  readonly problem: string | undefined;
}

/** What a check's verdict says, with a check that throws or returns something odd as a failure of its own. */
export async function problemOf(verdict: () => string | undefined | Promise<string | undefined>): Promise<string | undefined> {
  let problem: string | undefined;
  try {
    problem = await verdict();
  } catch (error) {
    problem = `the check threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (problem === undefined || problem === "") return undefined;
  return typeof problem === "string" ? problem : `the check returned ${typeof problem}, expected a message or undefined`;
}

/** Throws REFLOW_CHECK_FAILED if a blocking check failed; returns the messages of failed "warn" checks. */
export function checkVerdict(outcomes: readonly CheckOutcome[]): string[] {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const { check, problem } of outcomes) {
    if (problem !== undefined) (check.severity === "warn" ? warnings : errors).push(`check ${check.name} failed: ${problem}`);
  }
  if (errors.length > 0) throw new TaskError("REFLOW_CHECK_FAILED", errors.join("; "));
  return warnings;
}
