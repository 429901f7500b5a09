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
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const { check, run, threw } of this.runs) {
      let problem: string | undefined;
      try {
        if (threw !== undefined) throw threw;
        problem = await run.finish();
      } catch (error) {
        problem = `the check threw: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (problem === undefined || problem === "") continue;
      if (typeof problem !== "string") problem = `the check returned ${typeof problem}, expected a message or undefined`;
      (check.severity === "warn" ? warnings : errors).push(`check ${check.name} failed: ${problem}`);
    }
    if (errors.length > 0) throw new TaskError("REFLOW_CHECK_FAILED", errors.join("; "));
    return warnings;
  }
}
