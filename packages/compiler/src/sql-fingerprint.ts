import { asTableExpression, compileOnlyQueryBuilder, formatLocation, isSqlQuery, isTimePartitions, partitionInfo, ReflowError, UNPARTITIONED_KEY, type ColumnSpec, type DatasetDeclaration, type PartitionScheme, type ReflowErrorCode, type SourceLocation } from "@reflow/core";
import { AliasNode, ColumnNode, IdentifierNode, ReferenceNode, SelectQueryNode, sql, type OperationNode } from "kysely";

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
export function compileSqlText(declaration: DatasetDeclaration, at: SourceLocation | undefined, columns?: readonly ColumnSpec[]): SqlText {
  const fail = (problem: string, cause?: unknown, code: ReflowErrorCode = "REFLOW_INVALID_DECLARATION"): never => {
    throw new ReflowError(code, `${formatLocation(at)}: dataset "${declaration.name}": ${problem}`, {
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
  const problem = columns && selectedColumnsProblem(query.toOperationNode(), columns);
  if (problem) fail(problem, undefined, "REFLOW_SCHEMA_MISMATCH");
  const compiled = builder.selectFrom(asTableExpression(query, "_reflow_sql")).selectAll().compile();
  return Object.freeze({ sql: compiled.sql, parameters: Object.freeze([...compiled.parameters]) });
}

/**
 * The compile-time half of the result check: when a select names all its
 * columns (no `*`, not a `sql` template), they must be the schema's. The
 * warehouse checks every result again at run time.
 */
function selectedColumnsProblem(node: OperationNode, columns: readonly ColumnSpec[]): string | undefined {
  if (!SelectQueryNode.is(node) || !node.selections) return undefined;
  const names: string[] = [];
  for (const { selection } of node.selections) {
    if (AliasNode.is(selection) && IdentifierNode.is(selection.alias)) names.push(selection.alias.name);
    else if (ReferenceNode.is(selection) && ColumnNode.is(selection.column)) names.push(selection.column.column.name);
    else if (ColumnNode.is(selection)) names.push(selection.column.name);
    else return undefined;
  }
  const known = new Set(columns.map((c) => c.name));
  const extra = names.find((name) => !known.has(name));
  if (extra !== undefined) return `sql selects column "${extra}", which the schema does not have (it has ${[...known].join(", ")})`;
  const missing = columns.filter((c) => !c.optional && !names.includes(c.name));
  if (missing.length > 0) return `sql selects no column ${missing.map((c) => `"${c.name}"`).join(", ")} (it selects ${names.join(", ")})`;
  return undefined;
}

function placeholderKey(scheme: PartitionScheme): string {
  if (isTimePartitions(scheme)) return scheme.start;
  return scheme.kind === "static" ? scheme.keys[0]! : UNPARTITIONED_KEY;
}
