import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely } from "kysely";

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
