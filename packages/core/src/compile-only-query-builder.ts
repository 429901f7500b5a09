import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from "kysely";

/**
 * A kysely instance that compiles queries in a warehouse's dialect (SQLite by
 * default) and runs none: the warehouse runs the compiled text on its own
 * connection, and the compiler fingerprints SQL transforms by the text it gives.
 */
export function compileOnlyQueryBuilder(dialect: "sqlite" | "postgres" = "sqlite"): Kysely<{}> {
  const postgres = dialect === "postgres";
  return new Kysely<{}>({
    dialect: {
      createAdapter: () => (postgres ? new PostgresAdapter() : new SqliteAdapter()),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => (postgres ? new PostgresIntrospector(db) : new SqliteIntrospector(db)),
      createQueryCompiler: () => (postgres ? new PostgresQueryCompiler() : new SqliteQueryCompiler()),
    },
  });
}
