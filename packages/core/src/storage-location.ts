/** A schema in a PostgreSQL database; `url` has its `${VAR}`s expanded and may hold a password (show it with `redactUrl`). */
export interface PostgresLocation {
  readonly type: "postgres";
  readonly url: string;
  readonly schema: string;
}

/** A SQLite database file (absolute path). */
export interface SqliteLocation {
  readonly type: "sqlite";
  readonly path: string;
}

/** Where the state store is: a SQLite file, or a schema in a PostgreSQL database. */
export type StateLocation = SqliteLocation | PostgresLocation;

/** Where the warehouse is. */
export type WarehouseLocation = SqliteLocation | PostgresLocation;
