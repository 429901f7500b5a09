import { fileURLToPath } from "node:url";
import type { SourceLocation } from "./reflow-error.js";

const CORE_DIR = fileURLToPath(new URL(".", import.meta.url));
// `at fn (file:///a/b.ts?tsx-namespace=1:12:3)`, `at /a/b.ts:12:3`: path, optional query, line, column.
const FRAME = /(file:\/\/[^\s():?]+|\/[^\s():?]+)(?:\?[^\s():]*)?:(\d+):(\d+)/g;

export interface StackFrame {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * The file positions in an error's stack, top first. Source maps (enabled by
 * tsx and vitest) make them TypeScript positions.
 */
export function stackFrames(error: unknown): StackFrame[] {
  const stack = error instanceof Error ? (error.stack ?? "") : typeof error === "string" ? error : "";
  return [...stack.matchAll(FRAME)].map((m) => ({
    file: m[1]!.startsWith("file:") ? fileURLToPath(m[1]!) : m[1]!,
    line: Number(m[2]),
    column: Number(m[3]),
  }));
}

/**
 * The first stack frame outside @reflow/core: the line of user code that
 * called `dataset()` or `source()`. The compiler uses it to find the
 * declaration in the AST, and errors use it to name file and line.
 */
export function callerLocation(): SourceLocation | undefined {
  return callerStack()[0];
}

/**
 * Every frame of user code under the `dataset()` / `source()` call, innermost
 * first: for a dataset made by a factory, the factory's callers down to the
 * module's top level. The compiler fingerprints the factory and the call that made the dataset.
 */
export function callerStack(): StackFrame[] {
  return stackFrames(new Error().stack ?? "")
    .slice(1)
    .filter((frame) => !frame.file.startsWith(CORE_DIR) && !frame.file.includes("/node_modules/"));
}
