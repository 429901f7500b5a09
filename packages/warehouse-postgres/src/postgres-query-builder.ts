import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";

/**
 * PostgreSQL's compiler, with number and boolean parameters typed
 * (`$1::int8`). pg sends parameters untyped, and PostgreSQL types an
 * untyped parameter in a select list as text, so `eb.val(1).as("n")` or
 * sql`select ${1} as n` would reach an integer column as text. Strings stay
 * untyped: PostgreSQL infers their type from where they are used.
 */
class TypedParametersCompiler extends PostgresQueryCompiler {
  protected override appendValue(parameter: unknown): void {
    super.appendValue(parameter);
    if (typeof parameter === "boolean") this.append("::boolean");
    else if (typeof parameter === "number") this.append(Number.isSafeInteger(parameter) ? "::int8" : "::float8");
    else if (typeof parameter === "bigint") this.append("::int8");
  }
}

/** A kysely that compiles queries for PostgreSQL and runs none: the SQL runner runs them on its own client. */
export function postgresQueryBuilder(): Kysely<{}> {
  return new Kysely<{}>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new TypedParametersCompiler(),
    },
  });
}
