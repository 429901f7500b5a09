import type Database from "better-sqlite3";
import { sql, type AliasableExpression, type AliasedExpression, type CompiledQuery } from "kysely";
import { asTableExpression, compileOnlyQueryBuilder, ContentHasher, ReflowError, type ColumnSpec, type PartitionVersionRef, type Row, type SqlWarehouse, type WarehouseTable, type WrittenVersion } from "@reflow/core";
import { fromSql, quote, rowsTable } from "./sqlite-columns.js";

/** What the SQL runner borrows from the warehouse that owns the connection. */
export interface SqliteSqlWarehouseParts {
  readonly db: Database.Database;
  statement(sql: string): Database.Statement;
  beginVersion(table: WarehouseTable, ref: PartitionVersionRef): Promise<void>;
  finishVersion(version: number, rowCount: number): void;
  abortVersion(dataset: string, version: number): void;
}

const RESULT = "_reflow_sql";

/**
 * SQL transforms on the embedded warehouse. A query is written as one
 * `INSERT … SELECT` into the version's rows; its result columns are checked
 * by name (and declared type, where SQLite knows one) before it runs, and the
 * stored values by type and nullness after, in one aggregate over the version.
 * SQLite has no hash function, so the content hash is computed by reading the
 * new version back once: its cost is per output row, not per input row.
 */
export class SqliteSqlWarehouse implements SqlWarehouse {
  readonly db = compileOnlyQueryBuilder();

  constructor(private readonly parts: SqliteSqlWarehouseParts) {}

  versionsOf(table: WarehouseTable, refs: readonly PartitionVersionRef[], alias: string): AliasedExpression<Row, string> {
    // Version ids are reflow's own integers: inlined, so many input partitions never hit SQLite's parameter limit.
    const versions = refs.map((ref) => sql.lit(ref.version));
    const columns = table.columns.map((column) => sql.ref(column.name));
    return sql<Row>`(select ${sql.join(columns)} from ${sql.table(rowsTable(table.dataset))} where _version in (${sql.join(versions)}))`.as(alias);
  }

  async writeVersion(table: WarehouseTable, ref: PartitionVersionRef, query: AliasableExpression<unknown>): Promise<WrittenVersion> {
    const compiled = this.db.selectFrom(asTableExpression(query, RESULT)).selectAll().compile();
    const select = this.prepare(compiled.sql, table.dataset);
    const columns = resultColumns(select, table);
    await this.parts.beginVersion(table, ref);
    try {
      const names = columns.map((c) => quote(c.name)).join(", ");
      const insert = `insert into ${quote(rowsTable(table.dataset))} (_partition, _version, ${names}) select ?, ?, ${names} from (${compiled.sql})`;
      const { changes } = this.run(() => this.parts.db.prepare(insert).run(ref.partition, ref.version, ...compiled.parameters), table.dataset);
      this.checkStoredValues(table, ref.version);
      const contentHash = this.contentHash(table, ref.version);
      this.parts.finishVersion(ref.version, changes);
      return { rowCount: changes, contentHash };
    } catch (error) {
      this.parts.abortVersion(table.dataset, ref.version);
      throw error;
    }
  }

  async select<R = Row>(query: AliasableExpression<R>): Promise<R[]> {
    const compiled: CompiledQuery = this.db.selectFrom(asTableExpression(query, RESULT)).selectAll().compile();
    return this.prepare(compiled.sql, undefined).all(...compiled.parameters) as R[];
  }

  /** One aggregate over the version: per column, how many stored values the schema rejects. */
  private checkStoredValues(table: WarehouseTable, version: number): void {
    const checks = table.columns.map((column) => ({ column, bad: rejectedValue(column) }));
    const counts = this.parts
      .statement(`select ${checks.map(({ bad }) => `coalesce(sum(${bad}), 0)`).join(", ")} from ${quote(rowsTable(table.dataset))} where _version = ?`)
      .raw(true)
      .get(version) as number[];
    const index = counts.findIndex((n) => n > 0);
    if (index < 0) return;
    const { column, bad } = checks[index]!;
    const example = this.parts.statement(`select quote(${quote(column.name)}) from ${quote(rowsTable(table.dataset))} where _version = ? and ${bad} limit 1`).pluck().get(version) as string;
    const count = counts[index]!;
    const rows = `${count.toLocaleString("en-US")} ${count === 1 ? "row" : "rows"}`;
    const problem = example === "NULL" ? `${rows} hold null, but the schema requires a value` : `${rows} hold values that are not ${typeName(column)} (first: ${example})`;
    throw new ReflowError("REFLOW_SCHEMA_MISMATCH", `column "${column.name}": ${problem}`, { subject: table.dataset });
  }

  /** Read back once: SQLite cannot hash rows itself. Raw arrays in column order, so no object per row. */
  private contentHash(table: WarehouseTable, version: number): string {
    const columns = table.columns;
    const hasher = new ContentHasher(columns);
    const read = this.parts.statement(`select ${columns.map((c) => quote(c.name)).join(", ")} from ${quote(rowsTable(table.dataset))} where _version = ?`).raw(true);
    const values: unknown[] = new Array(columns.length);
    for (const raw of read.iterate(version) as Iterable<unknown[]>) {
      for (let i = 0; i < columns.length; i++) values[i] = fromSql(raw[i], columns[i]!) ?? null;
      hasher.addValues(values);
    }
    return hasher.digest();
  }

  private prepare(text: string, dataset: string | undefined): Database.Statement {
    return this.run(() => this.parts.db.prepare(text), dataset);
  }

  /** SQLite's errors in a user's query (a syntax error, a missing column) are the user's to fix: not retried. */
  private run<T>(action: () => T, dataset: string | undefined): T {
    try {
      return action();
    } catch (error) {
      if (!(error instanceof Error) || error.name !== "SqliteError" || isTransient(error)) throw error;
      throw new ReflowError("REFLOW_TRANSFORM_FAILED", `the warehouse rejected the query: ${error.message}`, { cause: error, ...(dataset ? { subject: dataset } : {}) });
    }
  }
}

/** The query's result columns, checked against the schema before anything is written. */
function resultColumns(select: Database.Statement, table: WarehouseTable): ColumnSpec[] {
  const mismatch = (problem: string) => new ReflowError("REFLOW_SCHEMA_MISMATCH", problem, { subject: table.dataset });
  const expected = new Map(table.columns.map((c) => [c.name, c]));
  const seen = new Set<string>();
  const columns: ColumnSpec[] = [];
  for (const result of select.columns()) {
    // SQLite names a repeated column `name:1` in the `select *` around the query.
    const repeated = /^(.*):\d+$/.exec(result.name)?.[1];
    if (repeated !== undefined && seen.has(repeated)) throw mismatch(`column "${repeated}" appears twice in the result`);
    const column = expected.get(result.name);
    if (!column) throw mismatch(`column "${result.name}" is not in the schema (it has ${[...expected.keys()].join(", ")})`);
    if (seen.has(result.name)) throw mismatch(`column "${result.name}" appears twice in the result`);
    seen.add(result.name);
    const declared = affinity(result.type);
    if (declared !== undefined && !accepts(column, declared)) {
      throw mismatch(`column "${result.name}" is ${result.type} in the warehouse, but the schema says ${typeName(column)}`);
    }
    columns.push(column);
  }
  const missing = table.columns.filter((c) => !seen.has(c.name) && !c.optional);
  if (missing.length > 0) throw mismatch(`the result has no column ${missing.map((c) => `"${c.name}"`).join(", ")} (it has ${[...seen].join(", ") || "none"})`);
  return columns;
}

/** A SQL expression that is 1 when a stored value breaks the column's type or nullness. */
function rejectedValue(column: ColumnSpec): string {
  const name = quote(column.name);
  const wrongType = {
    text: `typeof(${name}) <> 'text'`,
    integer: `typeof(${name}) <> 'integer'`,
    real: `typeof(${name}) not in ('integer', 'real')`,
    boolean: `${name} not in (0, 1)`,
    json: `(typeof(${name}) <> 'text' or not json_valid(${name}))`,
  }[column.type];
  const nullAllowed = column.nullable || column.optional;
  return `(case when ${name} is null then ${nullAllowed ? 0 : 1} when ${wrongType} then 1 else 0 end)`;
}

/** SQLite's affinity of a declared column type (its rules, section 3.1 of "Datatypes In SQLite"). */
function affinity(declared: string | null): "integer" | "text" | "real" | "numeric" | undefined {
  if (!declared) return undefined;
  const type = declared.toUpperCase();
  if (type.includes("INT")) return "integer";
  if (type.includes("CHAR") || type.includes("CLOB") || type.includes("TEXT")) return "text";
  if (type.includes("REAL") || type.includes("FLOA") || type.includes("DOUB")) return "real";
  return "numeric";
}

/** Only text against numbers is a sure mismatch: SQLite converts numeric values between its numeric types. */
function accepts(column: ColumnSpec, declared: "integer" | "text" | "real" | "numeric"): boolean {
  if (column.type === "text") return declared === "text";
  if (column.type === "json") return true;
  return declared !== "text";
}

function typeName(column: ColumnSpec): string {
  return { text: "text", integer: "integers", real: "numbers", boolean: "booleans (0 or 1)", json: "JSON text" }[column.type];
}

function isTransient(error: Error): boolean {
  const code = (error as Error & { code?: string }).code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_FULL");
}
