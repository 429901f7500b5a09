import type { AliasableExpression, AliasedExpression, Kysely } from "kysely";
import type { Row } from "./dataset-declaration.js";
import type { PartitionInfo } from "./partition-keys.js";

/** `error` (the default) blocks publishing; `warn` publishes and reports. */
export type CheckSeverity = "error" | "warn";

/** What a check is told about the partition version it audits. */
export interface CheckContext {
  readonly dataset: string;
  readonly partition: PartitionInfo;
  /** The partition's live version before this build, if there is one. */
  readonly previous?: { readonly rowCount: number };
}

/**
 * Audits one partition version as its rows are written, before it is
 * published. Rows arrive one by one so that checks work on partitions too big
 * to hold in memory; `finish` returns a message when the check fails.
 */
export interface CheckRun {
  add(row: Row, index: number): void;
  finish(): string | undefined | Promise<string | undefined>;
}

/** What a check run inside the warehouse (on a SQL dataset's version) is given. */
export interface WarehouseCheckContext extends CheckContext {
  readonly rowCount: number;
  /** Runs a query over the new version's rows, a table expression named `rows`, and returns its result. */
  query<R>(build: (db: Kysely<any>, rows: AliasedExpression<Row, "rows">) => AliasableExpression<R>): Promise<R[]>;
}

/** A check declared on a dataset (`checks: [rowCount({ min: 1 }), …]`). */
export interface DatasetCheck {
  /** How reports name it: `rowCount(min: 1)`. */
  readonly name: string;
  readonly severity: CheckSeverity;
  start(context: CheckContext): CheckRun;
  /**
   * The same check as queries over a version already in the warehouse: used
   * for SQL datasets, whose rows never pass through Node. Without it, a SQL
   * dataset's version is read back once to stream its rows to `start`.
   */
  inWarehouse?(context: WarehouseCheckContext): Promise<string | undefined>;
}

/** A custom check over all rows of a partition: returns a message when the rows are wrong. */
export type CustomCheckFunction<R = Row> = (rows: readonly R[], context: CheckContext) => string | undefined | Promise<string | undefined>;

export interface CheckOptions {
  readonly severity?: CheckSeverity;
}

export function isDatasetCheck(value: unknown): value is DatasetCheck {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as DatasetCheck).name === "string" &&
    typeof (value as DatasetCheck).start === "function" &&
    ((value as DatasetCheck).severity === "error" || (value as DatasetCheck).severity === "warn")
  );
}

/**
 * A named custom check. It holds the partition's rows in memory to call `fn`
 * once with all of them; write a `DatasetCheck` for partitions too big for that.
 */
export function check<R = Row>(name: string, fn: CustomCheckFunction<R>, options: CheckOptions = {}): DatasetCheck {
  return Object.freeze({
    name,
    severity: options.severity ?? "error",
    start(context: CheckContext): CheckRun {
      const rows: R[] = [];
      return {
        add: (row) => void rows.push(row as R),
        finish: () => fn(rows, context),
      };
    },
  });
}
