import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type RawBuilder } from "kysely";

/**
 * The few places where the state's schema must be spelled per dialect. Every
 * migration runs on SQLite and on PostgreSQL; the rules are in
 * docs/architecture.md ("State on PostgreSQL").
 */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * An integer primary key that is never reused: SQLite's AUTOINCREMENT (not a
 * plain rowid alias, which reuses the largest id after a delete), an identity
 * column on PostgreSQL.
 */
export function autoIncrementId(db: Kysely<any>): (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return isPostgres(db) ? (c) => c.primaryKey().generatedByDefaultAsIdentity() : (c) => c.primaryKey().autoIncrement();
}

/** SQLite's WITHOUT ROWID (a table clustered on its primary key); PostgreSQL has no equivalent and needs none. */
export function withoutRowid<T extends string, C extends string>(db: Kysely<any>, table: CreateTableBuilder<T, C>): CreateTableBuilder<T, C> {
  return isPostgres(db) ? table : table.modifyEnd(sql`without rowid`);
}

/**
 * Integer milliseconds since the epoch of an ISO-8601 text column (null where
 * it does not parse). SQLite's julianday is a double whose error is well under
 * a millisecond for any date `toISOString` writes, so rounding makes it exact.
 */
export function epochMillisecondsOf(db: Kysely<any>, column: string): RawBuilder<number | null> {
  return isPostgres(db)
    ? sql<number | null>`round(extract(epoch from ${sql.ref(column)}::timestamptz) * 1000)::bigint`
    : sql<number | null>`cast(round((julianday(${sql.ref(column)}) - 2440587.5) * 86400000) as integer)`;
}

/** `Date.prototype.toISOString` of an integer-milliseconds column, in SQL: how a migration checks it converted a time exactly. */
export function isoTextOf(db: Kysely<any>, column: string): RawBuilder<string | null> {
  return isPostgres(db)
    ? sql<string | null>`to_char(to_timestamp(${sql.ref(column)} / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : sql<string | null>`strftime('%Y-%m-%dT%H:%M:%fZ', ${sql.ref(column)} / 1000.0, 'unixepoch')`;
}
