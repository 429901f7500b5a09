import path from "node:path";
import type { CompileWarning } from "@reflow/api";
import { colors } from "../terminal.js";

/** `warning: pipelines/x.ts:12: daily_revenue reads process.env.TAX_RATE, …`, one a line, for stderr. */
export function formatWarnings(warnings: readonly CompileWarning[]): string {
  return warnings.map((warning) => `${colors.yellow("warning:")} ${warning.message}\n`).join("");
}

/** The warnings as `--json` prints them: code, message, project-relative place, dataset. */
export function warningsToJson(warnings: readonly CompileWarning[], projectDir: string): { code: string; message: string; file: string; line: number; dataset: string }[] {
  return warnings.map((warning) => ({
    code: warning.code,
    message: warning.message,
    file: path.relative(projectDir, warning.location.file).split(path.sep).join("/"),
    line: warning.location.line,
    dataset: warning.subject,
  }));
}
