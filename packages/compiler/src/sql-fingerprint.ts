import { asTableExpression, compileOnlyQueryBuilder, formatLocation, isSqlQuery, isTimePartitions, partitionInfo, ReflowError, UNPARTITIONED_KEY, type DatasetDeclaration, type PartitionScheme, type SourceLocation } from "@reflow/core";
import { sql } from "kysely";

/** A SQL transform as the fingerprint sees it: compiled text with placeholders, and the parameter values. */
export interface SqlText {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

const builder = compileOnlyQueryBuilder();

/**
 * Compiles a dataset's `sql` function once, at compile time, with a placeholder
 * partition (the scheme's first key) and each input as the plain table of its
 * dataset: the same text whatever the partition and input versions, so an edit
 * that compiles to the same SQL is not a change. Parameter values count (a
 * changed constant changes the result); the one derived from the placeholder
 * partition stays the same from compile to compile.
 */
export function compileSqlText(declaration: DatasetDeclaration, at: SourceLocation | undefined): SqlText {
  const fail = (problem: string, cause?: unknown): never => {
    throw new ReflowError("REFLOW_INVALID_DECLARATION", `${formatLocation(at)}: dataset "${declaration.name}": ${problem}`, {
      subject: declaration.name,
      ...(at ? { location: at } : {}),
      ...(cause === undefined ? {} : { cause }),
    });
  };
  const inputs = Object.fromEntries(declaration.inputs.map((input) => [input.alias, sql.table(input.dataset).as(input.alias)]));
  const key = placeholderKey(declaration.partitions);
  let query: unknown;
  try {
    query = declaration.sql!({ db: builder, inputs: Object.freeze(inputs) as never, partition: partitionInfo(declaration.partitions, key), sql });
  } catch (error) {
    return fail(`sql threw while compiling its query for partition ${key}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (!isSqlQuery(query)) return fail(`sql must return a kysely query (db.selectFrom(…)) or a sql\`…\` template, got ${query === null ? "null" : typeof query}`);
  const compiled = builder.selectFrom(asTableExpression(query, "_reflow_sql")).selectAll().compile();
  return Object.freeze({ sql: compiled.sql, parameters: Object.freeze([...compiled.parameters]) });
}

function placeholderKey(scheme: PartitionScheme): string {
  if (isTimePartitions(scheme)) return scheme.start;
  return scheme.kind === "static" ? scheme.keys[0]! : UNPARTITIONED_KEY;
}
