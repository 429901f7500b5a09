import type pg from "pg";
import { sql, type AliasableExpression, type AliasedExpression, type CompiledQuery, type Kysely, type RawBuilder } from "kysely";
import { asTableExpression, ContentHasher, ReflowError, type ColumnSpec, type PartitionVersionRef, type Row, type SqlWarehouse, type WarehouseTable, type WrittenVersion } from "@reflow/core";
import { isPgDatabaseError } from "@reflow/postgres";
import { postgresQueryBuilder } from "./postgres-query-builder.js";

/** What the SQL runner borrows from the warehouse that owns the connection. */
export interface PostgresSqlWarehouseParts {
  readonly db: Kysely<any>;
  readonly pool: pg.Pool;
  /** Creates or widens the dataset's storage unless done already in this session. */
  ensurePrepared(table: WarehouseTable): Promise<void>;
  read(table: WarehouseTable, refs: readonly PartitionVersionRef[]): AsyncIterable<Row[]>;
  dropVersions(dataset: string, versions: readonly number[]): Promise<unknown>;
}

const RESULT = "_reflow_sql";

// Type oids of pg_type, as the driver reports a result's columns.
const BOOL = 16;
const INTEGERS = new Set([20, 21, 23]); // int8, int2, int4
const FRACTIONAL = new Set([700, 701, 1700]); // float4, float8, numeric
const TEXTS = new Set([25, 1043, 1042, 19]); // text, varchar, bpchar, name
const JSON_OID = 114;
const JSONB = 3802;

/** How a result column of one stored type goes into a schema column, when it can. */
interface Conversion {
  /** The value as stored, when PostgreSQL would not convert it on insert by itself. */
  readonly cast?: (value: RawBuilder<unknown>) => RawBuilder<unknown>;
  /** True for a value the column cannot hold although its type converts (0.5 into integers). */
  readonly rejects?: (value: RawBuilder<unknown>) => RawBuilder<unknown>;
}

interface ResultColumn {
  readonly column: ColumnSpec;
  readonly conversion: Conversion;
}

/**
 * SQL transforms on PostgreSQL. A query's result columns are checked by name
 * and type (from the driver's description of the result, before anything is
 * written); then one statement, in one transaction, inserts its rows as the
 * new version and counts the values the schema rejects (nulls where a value
 * is required, fractions into integers, integers other than 0 and 1 into
 * booleans) over the query's result as computed once. Any mismatch rolls the
 * transaction back, so nothing is kept. The content hash is computed by
 * reading the version back as `read` gives it, so it equals what a transform
 * producing the same rows records.
 */
export class PostgresSqlWarehouse implements SqlWarehouse {
  readonly db = postgresQueryBuilder();

  constructor(private readonly parts: PostgresSqlWarehouseParts) {}

  versionsOf(table: WarehouseTable, refs: readonly PartitionVersionRef[], alias: string): AliasedExpression<Row, string> {
    // Version ids are reflow's own integers: inlined, so many input partitions never hit the parameter limit.
    const versions = refs.length === 0 ? [sql.lit(null)] : refs.map((ref) => sql.lit(ref.version));
    const columns = table.columns.map((column) => sql.ref(column.name));
    return sql<Row>`(select ${sql.join(columns)} from ${sql.table(rowsTable(table.dataset))} where _version in (${sql.join(versions)}))`.as(alias);
  }

  async writeVersion(table: WarehouseTable, ref: PartitionVersionRef, query: AliasableExpression<unknown>): Promise<WrittenVersion> {
    await this.parts.ensurePrepared(table);
    const client = await this.parts.pool.connect();
    let rowCount: number;
    let broken: Error | undefined;
    try {
      const described = this.db.selectFrom(asTableExpression(query, RESULT)).selectAll().limit(0).compile();
      const fields = (await run(() => client.query(described.sql, [...described.parameters]), table.dataset)).fields;
      const columns = await resultColumns(fields, table, client);
      // One transaction: a mismatch, an error or a killed process leaves neither rows nor a version record.
      await client.query("begin");
      try {
        // Not waiting for this commit's WAL flush is safe: the version is not live, and the publish that
        // makes it live commits synchronously, which flushes all earlier WAL, this version's included. A
        // server crash before then loses an unpublished version, which reconcile already treats as not built.
        await client.query("set local synchronous_commit = off");
        const insert = insertAndCount(table, ref, query, columns).compile(this.db);
        const counts = (await run(() => client.query({ text: insert.sql, values: [...insert.parameters], rowMode: "array" }), table.dataset)).rows[0] as unknown[];
        rowCount = Number(counts[0]);
        rejectBadValues(table, columns, counts.slice(1));
        await client.query(`insert into _reflow_versions (version, dataset, partition, row_count, state, created_at) values ($1, $2, $3, $4, 'written', $5)`, [
          ref.version,
          table.dataset,
          ref.partition,
          rowCount,
          new Date().toISOString(),
        ]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback").catch((lost: Error) => (broken = lost));
        throw error;
      }
    } finally {
      // A client whose connection failed is destroyed, not returned to the pool.
      client.release(broken);
    }
    try {
      return { rowCount, contentHash: await this.contentHash(table, ref) };
    } catch (error) {
      await this.parts.dropVersions(table.dataset, [ref.version]);
      throw error;
    }
  }

  async select<R = Row>(query: AliasableExpression<R>): Promise<R[]> {
    const compiled: CompiledQuery = this.db.selectFrom(asTableExpression(query, RESULT)).selectAll().compile();
    return (await run(() => this.parts.db.executeQuery(compiled), undefined)).rows as R[];
  }

  /**
   * The digest a JS transform's rows would get: computed in the database when
   * it can be exactly that, else by reading the version back once, as `read`
   * converts rows.
   */
  private async contentHash(table: WarehouseTable, ref: PartitionVersionRef): Promise<string> {
    const inDatabase = await this.digestInDatabase(table, ref);
    if (inDatabase !== undefined) return inDatabase;
    const hasher = new ContentHasher(table.columns);
    for await (const batch of this.parts.read(table, [ref])) for (const row of batch) hasher.add(row);
    return hasher.digest();
  }

  /**
   * `ContentHasher`'s digest computed by PostgreSQL (sha256 per row, the two
   * 64-bit lanes summed mod 2^64), without sending a row to Node. Only where
   * each value's JSON text is provably `JSON.stringify`'s: text (to_json
   * escapes as JavaScript does, in a UTF8 database), booleans, and integers of
   * at most 2^53 − 1 (larger ones `read` gives as rounded doubles; checked in
   * the same query). Otherwise (real, json, a big integer) undefined: the
   * caller reads the version back.
   */
  private async digestInDatabase(table: WarehouseTable, ref: PartitionVersionRef): Promise<string | undefined> {
    if (table.columns.some((c) => c.type !== "text" && c.type !== "integer" && c.type !== "boolean")) return undefined;
    const texts = table.columns.map((c) => sql`coalesce(to_json(${sql.id(c.name)})::text, 'null')`);
    const rowText = texts.length === 0 ? sql`'[]'` : sql`'[' || concat_ws(',', ${sql.join(texts)}) || ']'`;
    const integers = table.columns.filter((c) => c.type === "integer").map((c) => sql`(${sql.id(c.name)} is null or abs(${sql.id(c.name)}) <= 9007199254740991)`);
    const safe = integers.length === 0 ? sql`true` : sql.join(integers, sql` and `);
    const lane = (from: number) => sql`coalesce(sum(('x' || encode(substring(_d from ${sql.lit(from)} for 8), 'hex'))::bit(64)::bigint::numeric), 0)`;
    const MOD = sql`18446744073709551616::numeric`;
    const result = await sql<{ n: string; low: string; high: string; safe: boolean; utf8: boolean }>`
      select count(*)::text as n,
        mod(mod(${lane(1)}, ${MOD}) + ${MOD}, ${MOD})::text as low,
        mod(mod(${lane(9)}, ${MOD}) + ${MOD}, ${MOD})::text as high,
        coalesce(bool_and(_safe), true) as safe,
        current_setting('server_encoding') = 'UTF8' as utf8
      from (
        select sha256(convert_to(${rowText}, 'UTF8')) as _d, ${safe} as _safe
        from ${sql.table(rowsTable(table.dataset))} where _version = ${ref.version}
      ) as hashed`.execute(this.parts.db);
    const row = result.rows[0]!;
    if (row.safe === false || !row.utf8) return undefined;
    const hex = (value: string) => BigInt(value).toString(16).padStart(16, "0");
    return `${Number(row.n).toString(16)}-${hex(row.high)}${hex(row.low)}`;
  }
}

/** The query's result columns, checked by name and type against the schema before anything is written. */
async function resultColumns(fields: readonly pg.FieldDef[], table: WarehouseTable, client: pg.PoolClient): Promise<ResultColumn[]> {
  const expected = new Map(table.columns.map((c) => [c.name, c]));
  const seen = new Set<string>();
  const columns: ResultColumn[] = [];
  for (const field of fields) {
    const column = expected.get(field.name);
    if (!column) throw mismatch(table, `column "${field.name}" is not in the schema (it has ${[...expected.keys()].join(", ")})`);
    if (seen.has(field.name)) throw mismatch(table, `column "${field.name}" appears twice in the result`);
    seen.add(field.name);
    const conversion = conversionOf(column, field.dataTypeID);
    if (!conversion) {
      const { rows } = await client.query<{ name: string }>("select format_type($1, null) as name", [field.dataTypeID]);
      throw mismatch(table, `column "${field.name}" is ${rows[0]?.name ?? `type ${field.dataTypeID}`} in the warehouse, but the schema says ${typeName(column)}`);
    }
    columns.push({ column, conversion });
  }
  const missing = table.columns.filter((c) => !seen.has(c.name) && !c.optional);
  if (missing.length > 0) throw mismatch(table, `the result has no column ${missing.map((c) => `"${c.name}"`).join(", ")} (it has ${[...seen].join(", ") || "none"})`);
  return columns;
}

/** Which stored types a column takes. Strict where SQLite is loose: no number goes into text, no text into numbers. */
function conversionOf(column: ColumnSpec, type: number): Conversion | undefined {
  switch (column.type) {
    case "text":
      return TEXTS.has(type) ? {} : undefined;
    case "integer":
      if (INTEGERS.has(type)) return {};
      // sum() of bigints is numeric in PostgreSQL: taken when every value is whole.
      return FRACTIONAL.has(type) ? { rejects: (v) => sql`${v} <> trunc(${v})` } : undefined;
    case "real":
      return INTEGERS.has(type) || FRACTIONAL.has(type) ? {} : undefined;
    case "boolean":
      if (type === BOOL) return {};
      // 0 and 1, as SQLite stores booleans, so a query written for either warehouse runs on both.
      return INTEGERS.has(type) ? { cast: (v) => sql`(${v} <> 0)`, rejects: (v) => sql`${v} not in (0, 1)` } : undefined;
    case "json":
      if (type === JSON_OID) return {};
      return type === JSONB ? { cast: (v) => sql`${v}::json` } : undefined;
  }
}

/**
 * One statement: the query's result materialized once, inserted as the
 * version (a data-modifying CTE runs whether or not it is read), and
 * counted: its rows, then per column the values the
 * schema rejects by type, the smallest of them, and the nulls where a value
 * is required. Counted over the result, before PostgreSQL's own conversions
 * (which would round 0.5 into 1) apply.
 */
function insertAndCount(table: WarehouseTable, ref: PartitionVersionRef, query: AliasableExpression<unknown>, columns: readonly ResultColumn[]): RawBuilder<unknown> {
  const names = sql.join(columns.map(({ column }) => sql.id(column.name)));
  const values = columns.map(({ column, conversion }) => {
    const value = sql.id(column.name);
    return conversion.cast ? sql`${conversion.cast(value)} as ${sql.id(column.name)}` : value;
  });
  const counts = checkedColumns(table, columns).flatMap(({ column, conversion }) => {
    const value = sql.id(column.name);
    const wrong = conversion.rejects?.(value);
    // min() only where values can be wrong: those types have an order (json has none).
    const typeCounts = wrong ? [sql`count(*) filter (where ${wrong})`, sql`min(${value}) filter (where ${wrong})`] : [sql`0`, sql`null`];
    return [...typeCounts, column.nullable || column.optional ? sql`0` : sql`count(*) filter (where ${value} is null)`];
  });
  return sql`with _reflow_result as materialized (select * from ${asTableExpression(query, RESULT)}),
    _reflow_inserted as (
      insert into ${sql.table(rowsTable(table.dataset))} (_partition, _version${columns.length > 0 ? sql`, ${names}` : sql``})
      select ${ref.partition}::text, ${ref.version}${values.length > 0 ? sql`, ${sql.join(values)}` : sql``} from _reflow_result
    )
    select count(*)${counts.length > 0 ? sql`, ${sql.join(counts)}` : sql``} from _reflow_result`;
}

/** The result's columns in schema order (the order mismatches are reported in). */
function checkedColumns(table: WarehouseTable, columns: readonly ResultColumn[]): ResultColumn[] {
  return table.columns.flatMap((c) => columns.filter((r) => r.column === c));
}

/** Throws for the first column, in schema order, holding a value the schema rejects. */
function rejectBadValues(table: WarehouseTable, columns: readonly ResultColumn[], counts: readonly unknown[]): void {
  checkedColumns(table, columns).forEach(({ column }, i) => {
    const [wrong, example, nulls] = [Number(counts[i * 3]), counts[i * 3 + 1], Number(counts[i * 3 + 2])];
    if (wrong > 0) throw mismatch(table, `column "${column.name}": ${rows(wrong)} hold values that are not ${typeName(column)} (first: ${String(example)})`);
    if (nulls > 0) throw mismatch(table, `column "${column.name}": ${rows(nulls)} hold null, but the schema requires a value`);
  });
}

function mismatch(table: WarehouseTable, problem: string): ReflowError {
  return new ReflowError("REFLOW_SCHEMA_MISMATCH", problem, { subject: table.dataset });
}

/** PostgreSQL's errors in a user's query (a syntax error, a missing column, a bad cast) are the user's to fix: not retried. */
async function run<T>(action: () => Promise<T>, dataset: string | undefined): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!isPgDatabaseError(error) || isTransient(error)) throw error;
    throw new ReflowError("REFLOW_TRANSFORM_FAILED", `the warehouse rejected the query: ${error.message}`, { cause: error, ...(dataset ? { subject: dataset } : {}) });
  }
}

/** Connection loss, serialization failures, lack of resources, operator intervention, system and internal errors. */
function isTransient(error: pg.DatabaseError): boolean {
  return ["08", "40", "53", "57", "58", "XX"].includes((error.code ?? "").slice(0, 2));
}

function typeName(column: ColumnSpec): string {
  return { text: "text", integer: "integers", real: "numbers", boolean: "booleans (0 or 1)", json: "json (or jsonb)" }[column.type];
}

function rows(n: number): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? "row" : "rows"}`;
}

export function rowsTable(dataset: string): string {
  return `${dataset}__rows`;
}
