import type { AliasedExpression, Kysely } from "kysely";
import type { Row } from "./dataset-declaration.js";
import type { CheckContext, CheckOptions, CheckRun, DatasetCheck, WarehouseCheckContext } from "./dataset-check.js";

/** Fails when the partition has fewer than `min` or more than `max` rows. */
export function rowCount(options: { readonly min?: number; readonly max?: number } & CheckOptions): DatasetCheck {
  const { min, max } = options;
  for (const [key, value] of [["min", min], ["max", max]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new TypeError(`rowCount: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  if (min === undefined && max === undefined) throw new TypeError("rowCount: give min, max or both");
  const limits = [...(min === undefined ? [] : [`min: ${min}`]), ...(max === undefined ? [] : [`max: ${max}`])].join(", ");
  const verdict = (count: number): string | undefined => {
    if (min !== undefined && count < min) return `${rows(count)}, expected at least ${min}`;
    if (max !== undefined && count > max) return `${rows(count)}, expected at most ${max}`;
    return undefined;
  };
  return builtIn(`rowCount(${limits})`, options, () => counting(verdict), async ({ rowCount }) => verdict(rowCount));
}

/** Fails when two rows share the same values in `columns`. */
export function unique(columns: readonly string[], options: CheckOptions = {}): DatasetCheck {
  requireColumns("unique", columns);
  return builtIn(`unique(${columns.join(", ")})`, options, () => {
    const firstRow = new Map<string, number>();
    let duplicates = 0;
    let example: string | undefined;
    return {
      add: (row, index) => {
        const values = columns.map((c) => row[c] ?? null);
        const key = JSON.stringify(values);
        const first = firstRow.get(key);
        if (first === undefined) {
          firstRow.set(key, index);
          return;
        }
        duplicates += 1;
        example ??= `${columns.map((c, i) => `${c}=${JSON.stringify(values[i])}`).join(", ")} in rows ${first + 1} and ${index + 1}`;
      },
      finish: () => (duplicates === 0 ? undefined : `${rows(duplicates)} repeat a key already seen, first ${example}`),
    };
  }, async ({ query }) => {
    // Rows of the warehouse have no order, so the example is the smallest repeated key, with how often it occurs.
    const repeated = (db: Kysely<any>, rows: AliasedExpression<Row, "rows">) =>
      db.selectFrom(rows).select(columns).select((eb) => eb.fn.countAll().as("n")).groupBy(columns).having((eb) => eb.fn.countAll(), ">", 1);
    const [total] = await query((db, rows) => db.selectFrom(repeated(db, rows).as("r")).select((eb) => eb.fn.sum(eb("n", "-", 1)).as("duplicates")));
    const duplicates = Number(total?.duplicates ?? 0);
    if (duplicates === 0) return undefined;
    const [first] = await query((db, rows) => columns.reduce((q, c) => q.orderBy(c), repeated(db, rows)).limit(1));
    const key = columns.map((c) => `${c}=${JSON.stringify(first![c])}`).join(", ");
    return `${rows(duplicates)} repeat a key already seen, first ${key} (${rows(Number(first!.n))})`;
  });
}

/** Fails when any of `columns` is null or missing in any row. */
export function notNull(columns: readonly string[], options: CheckOptions = {}): DatasetCheck {
  requireColumns("notNull", columns);
  return builtIn(`notNull(${columns.join(", ")})`, options, () => {
    let nulls = 0;
    let example: string | undefined;
    return {
      add: (row, index) => {
        for (const column of columns) {
          if (row[column] !== null && row[column] !== undefined) continue;
          nulls += 1;
          example ??= `row ${index + 1} (${column})`;
          return;
        }
      },
      finish: () => (nulls === 0 ? undefined : `${rows(nulls)} with a null value, first ${example}`),
    };
  }, async ({ query }) => {
    const [counts] = await query((db, rows) =>
      db.selectFrom(rows).select((eb) => [
        eb.fn.countAll().as("_rows"),
        ...columns.map((c) => eb.fn.count(eb.case().when(c, "is", null).then(1).end()).as(c)),
      ]).where((eb) => eb.or(columns.map((c) => eb(c, "is", null)))),
    );
    const nulls = Number(counts?._rows ?? 0);
    if (nulls === 0) return undefined;
    const perColumn = columns.flatMap((c) => (Number(counts![c]) > 0 ? [`${c}: ${Number(counts![c])}`] : []));
    return `${rows(nulls)} with a null value (${perColumn.join(", ")})`;
  });
}

/**
 * The reprocessing sanity check: fails when the row count moves by more than
 * the fraction `rows` (0.2 = ±20%) from the partition's previous version.
 * Passes when there is no previous version to compare with.
 */
export function maxChangeFromPrevious(options: { readonly rows: number } & CheckOptions): DatasetCheck {
  const limit = options.rows;
  if (typeof limit !== "number" || !(limit >= 0)) throw new TypeError(`maxChangeFromPrevious: rows must be a fraction >= 0 (0.2 = ±20%), got ${JSON.stringify(limit)}`);
  const verdict = (count: number, context: CheckContext): string | undefined => {
    const before = context.previous?.rowCount;
    if (before === undefined || count === before) return undefined;
    const change = before === 0 ? Infinity : (count - before) / before;
    if (Math.abs(change) <= limit) return undefined;
    const shown = Number.isFinite(change) ? `${change > 0 ? "+" : ""}${formatPercent(change)}` : "from none";
    return `${rows(count)}, the previous version had ${before} (${shown}, limit ±${formatPercent(limit)})`;
  };
  return builtIn(
    `maxChangeFromPrevious(rows: ${limit})`,
    options,
    (context) => counting((count) => verdict(count, context)),
    async (context) => verdict(context.rowCount, context),
  );
}

function builtIn(
  name: string,
  options: CheckOptions,
  start: (context: CheckContext) => CheckRun,
  inWarehouse: (context: WarehouseCheckContext) => Promise<string | undefined>,
): DatasetCheck {
  if (options.severity !== undefined && options.severity !== "error" && options.severity !== "warn") {
    throw new TypeError(`${name}: severity must be "error" or "warn", got ${JSON.stringify(options.severity)}`);
  }
  return Object.freeze({ name, severity: options.severity ?? "error", start, inWarehouse });
}

/** A run that only counts rows, judged by `verdict` at the end. */
function counting(verdict: (count: number) => string | undefined): CheckRun {
  let count = 0;
  return { add: () => void (count += 1), finish: () => verdict(count) };
}

function requireColumns(check: string, columns: readonly string[]): void {
  if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== "string")) {
    throw new TypeError(`${check}: give the column names as an array of strings, got ${JSON.stringify(columns)}`);
  }
}

function rows(n: number): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? "row" : "rows"}`;
}

function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
