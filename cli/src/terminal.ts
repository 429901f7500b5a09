import { createInterface } from "node:readline/promises";
import pc from "picocolors";
import { ReflowError } from "@reflow/api";

/** Colours only on a terminal that wants them (NO_COLOR and FORCE_COLOR are honoured by picocolors). */
export const colors = pc.createColors(pc.isColorSupported && Boolean(process.stdout.isTTY));

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

export async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    return answer === "y" || answer === "yes";
  } finally {
    rl.close();
  }
}

/**
 * `--yes` answers yes; a terminal is asked; anywhere else the command refuses
 * (REFLOW_CONFIRMATION_REQUIRED) before it has written anything.
 */
export async function confirmOrRefuse(question: string, options: { readonly yes?: boolean; readonly command: string; readonly without: string }): Promise<boolean> {
  if (options.yes) return true;
  if (!isInteractive()) {
    throw new ReflowError(
      "REFLOW_CONFIRMATION_REQUIRED",
      `${options.command} asks for confirmation, and there is no terminal to ask on: run \`reflow ${options.command} --yes\` to ${options.without} without asking`,
    );
  }
  return askYesNo(question);
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? singular : pluralForm}`;
}
