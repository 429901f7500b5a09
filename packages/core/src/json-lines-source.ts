import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { z } from "zod";
import type { DatasetDeclaration } from "./dataset-declaration.js";
import { declareFileSource, type FileRecord, type FileSourceOptions } from "./file-source.js";
import { ReflowError } from "./reflow-error.js";
import { callerStack } from "./stack-frames.js";

/**
 * A source read from JSON Lines files, one per partition:
 * `jsonLinesSource("events", { partitions: daily({ start }), schema, path: "data/events/{date}.jsonl" })`.
 * Each non-blank line is one row; files are streamed, never read whole.
 */
export function jsonLinesSource<Name extends string, S extends z.ZodObject<z.ZodRawShape>>(name: Name, options: FileSourceOptions<S>): DatasetDeclaration<Name, z.output<S>> {
  return declareFileSource("jsonLinesSource", name, options, callerStack(), readJsonLines);
}

async function* readJsonLines(file: string, display: string): AsyncIterable<FileRecord> {
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (error) {
      throw new ReflowError("REFLOW_SOURCE_FILE_INVALID", `${display}:${line}: not a JSON value: ${(error as Error).message}`);
    }
    yield { row, line };
  }
}
