import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import type { DatasetDeclaration, ReadContext } from "./dataset-declaration.js";
import { declareSource, type SourceOptions } from "./dataset.js";
import type { PartitionInfo } from "./partition-keys.js";
import type { PartitionScheme } from "./partition-scheme.js";
import { formatLocation, ReflowError, type SourceLocation } from "./reflow-error.js";
import { describeSchemaIssue } from "./schema-issue.js";

type RowSchema = z.ZodObject<z.ZodRawShape>;

export interface FileSourceOptions<S extends RowSchema> extends Omit<SourceOptions<S>, "read" | "sourceVersion"> {
  /**
   * Where a partition's file is, relative to the project directory:
   * `data/events/{date}.jsonl`. Placeholders: `{key}`, the grain's unit
   * (`{hour}`, `{date}`, `{week}`, `{month}`, `{year}`) and, for multi
   * partitions, each dimension (`data/{region}/{date}.csv`). A `*` in the file
   * name reads every matching file, in name order.
   */
  readonly path: string;
  /** A partition with no file: `"error"` (default) fails its build naming the path; `"empty"` reads it as no rows. */
  readonly missing?: "error" | "empty";
}

/** One parsed record of a file and the line it ends on, for errors that name `file:line`. */
export interface FileRecord {
  readonly row: unknown;
  readonly line: number;
}

/** Streams the records of one file; `display` is the path to name in errors. */
export type FileRecordReader = (file: string, display: string) => AsyncIterable<FileRecord>;

const UNIT_PLACEHOLDERS: Readonly<Record<string, string>> = { hourly: "hour", daily: "date", weekly: "week", monthly: "month", yearly: "year" };

/**
 * Declares a source read from files laid out by partition key. Called by
 * `jsonLinesSource` and `csvSource`, which give the format; everything else
 * (path placeholders, missing files, validation with file:line, the cheap
 * size + mtime version that `plan` compares) is the same for both.
 */
export function declareFileSource<Name extends string, S extends RowSchema>(
  helper: string,
  name: Name,
  options: FileSourceOptions<S>,
  callStack: readonly SourceLocation[],
  readRecords: FileRecordReader,
): DatasetDeclaration<Name, z.output<S>> {
  const definedAt = callStack[0];
  const fail = (problem: string): never => {
    throw new ReflowError("REFLOW_INVALID_DECLARATION", `${definedAt ? `${formatLocation(definedAt)}: ` : ""}${helper}("${name}"): ${problem}`, {
      subject: name,
      ...(definedAt ? { location: definedAt } : {}),
    });
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  if (typeof options.path !== "string" || options.path === "") fail(`path must be a file path such as "data/events/{date}.jsonl", got ${JSON.stringify(options.path)}`);
  if (options.missing !== undefined && options.missing !== "error" && options.missing !== "empty") fail(`missing must be "error" or "empty", got ${JSON.stringify(options.missing)}`);
  const known = placeholdersOf(options.partitions ?? { kind: "unpartitioned" });
  for (const [, placeholder] of options.path.matchAll(/\{([^}]*)\}/g)) {
    if (!known.includes(placeholder!)) fail(`path has no placeholder {${placeholder}} for these partitions (use ${known.map((p) => `{${p}}`).join(", ") || "no placeholders: the source is unpartitioned"})`);
  }
  if (path.dirname(options.path).includes("*")) fail(`path can have * only in the file name, got ${JSON.stringify(options.path)}`);

  const { path: template, missing = "error", ...rest } = options;
  const schema = options.schema;
  async function* read({ partition, projectDir }: ReadContext): AsyncIterable<unknown> {
    const display = renderPath(template, partition);
    const files = await partitionFiles(display, projectDir);
    if (files.length === 0) {
      if (missing === "empty") return;
      throw new ReflowError(
        "REFLOW_SOURCE_FILE_MISSING",
        `no file ${display} (${helper} "${name}" at ${formatLocation(definedAt) || "its declaration"}; declare missing: "empty" to read a missing file as no rows)`,
        { subject: name },
      );
    }
    for (const file of files) {
      const shown = path.join(path.dirname(display), path.basename(file));
      for await (const { row, line } of readRecords(file, shown)) {
        const parsed = schema.safeParse(row);
        if (!parsed.success) throw new ReflowError("REFLOW_SCHEMA_VIOLATION", `${shown}:${line}: ${describeSchemaIssue(parsed.error)}`, { subject: name });
        yield row;
      }
    }
  }
  // Size and mtime of each file: cheap, so `plan` notices an edited file without reading it.
  const sourceVersion = async ({ partition, projectDir }: ReadContext): Promise<string> => {
    const files = await partitionFiles(renderPath(template, partition), projectDir);
    if (files.length === 0) return "none";
    const stats = await Promise.all(files.map(async (file) => ({ file, stats: await stat(file) })));
    return stats.map(({ file, stats: s }) => `${path.basename(file)}:${s.size}:${Math.trunc(s.mtimeMs)}`).join(",");
  };
  return declareSource(name, { ...rest, read, sourceVersion } as SourceOptions<S>, "path", callStack);
}

/** The placeholders a path may use with a scheme. */
function placeholdersOf(scheme: PartitionScheme): string[] {
  if (scheme.kind === "unpartitioned") return [];
  if (scheme.kind === "static") return ["key"];
  if (scheme.kind === "multi") return ["key", ...scheme.dimensions.map((d) => d.name)];
  return ["key", UNIT_PLACEHOLDERS[scheme.kind]!];
}

function renderPath(template: string, partition: PartitionInfo): string {
  const values: Record<string, string> = { key: partition.key, ...partition.dimensions };
  // A grain's unit placeholder is its key ({date} of a daily source).
  return template.replace(/\{([^}]*)\}/g, (_, name: string) => values[name] ?? partition.key);
}

/** The absolute paths of a partition's files: the one named, or those its `*` matches, in name order. */
async function partitionFiles(relative: string, projectDir: string | undefined): Promise<string[]> {
  const absolute = path.resolve(projectDir ?? process.cwd(), relative);
  const name = path.basename(absolute);
  if (!name.includes("*")) {
    try {
      return (await stat(absolute)).isFile() ? [absolute] : [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }
  const pattern = new RegExp(`^${name.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
  const directory = path.dirname(absolute);
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return entries
    .filter((entry) => pattern.test(entry))
    .sort()
    .map((entry) => path.join(directory, entry));
}
