import { createInterface } from "node:readline/promises";
import pc from "picocolors";

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

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? singular : pluralForm}`;
}
