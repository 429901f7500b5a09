import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from "kysely";

/**
 * A kysely instance that compiles queries in SQLite's dialect and runs none:
 * the embedded warehouse runs the compiled text on its own connection, and the
 * compiler fingerprints SQL transforms by the text it gives.
 */
export function compileOnlyQueryBuilder(): Kysely<{}> {
  return new Kysely<{}>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}
