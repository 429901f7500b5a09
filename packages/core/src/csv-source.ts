import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import type { z } from "zod";
import type { DatasetDeclaration } from "./dataset-declaration.js";
import { declareFileSource, type FileRecord, type FileSourceOptions } from "./file-source.js";
import { ReflowError } from "./reflow-error.js";
import { columnsOf, type ColumnSpec } from "./schema-columns.js";
import { callerStack } from "./stack-frames.js";

export interface CsvSourceOptions<S extends z.ZodObject<z.ZodRawShape>> extends FileSourceOptions<S> {
  /** Field separator; default `,`. */
  readonly delimiter?: string;
}

/**
 * A source read from CSV files with a header row, one per partition:
 * `csvSource("orders", { partitions: daily({ start }), schema, path: "data/orders/{date}.csv" })`.
 * Fields are converted to the schema's column types (numbers, booleans;
 * an empty field is null where the schema allows null) before validation.
 */
export function csvSource<Name extends string, S extends z.ZodObject<z.ZodRawShape>>(name: Name, options: CsvSourceOptions<S>): DatasetDeclaration<Name, z.output<S>> {
  const { delimiter = ",", ...fileOptions } = options ?? ({} as CsvSourceOptions<S>);
  let columns: ReadonlyMap<string, ColumnSpec> | undefined; // after the options are checked
  return declareFileSource("csvSource", name, fileOptions, callerStack(), (file, display) =>
    readCsv(file, display, delimiter, (columns ??= new Map(columnsOf(options.schema, name).map((c) => [c.name, c])))),
  );
}

async function* readCsv(file: string, display: string, delimiter: string, columns: ReadonlyMap<string, ColumnSpec>): AsyncIterable<FileRecord> {
  const parser = createReadStream(file).pipe(parse({ columns: true, info: true, bom: true, delimiter, skip_empty_lines: true }));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const row: Record<string, unknown> = {};
      for (const [field, text] of Object.entries(record)) row[field] = convert(text, columns.get(field));
      yield { row, line: info.lines };
    }
  } catch (error) {
    if (error instanceof ReflowError) throw error;
    const line = (error as { lines?: number }).lines;
    throw new ReflowError("REFLOW_SOURCE_FILE_INVALID", `${display}${line ? `:${line}` : ""}: not valid CSV: ${(error as Error).message}`);
  }
}

/** A CSV field as the schema's column type; text that does not convert is left for validation to report. */
function convert(text: string, column: ColumnSpec | undefined): unknown {
  if (!column) return text;
  if (text === "" && column.type !== "text") return column.nullable ? null : column.optional ? undefined : text;
  switch (column.type) {
    case "integer":
    case "real": {
      const number = Number(text);
      return Number.isNaN(number) ? text : number;
    }
    case "boolean":
      return text === "true" ? true : text === "false" ? false : text;
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    default:
      return text;
  }
}
