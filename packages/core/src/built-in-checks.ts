import type { CheckContext, CheckOptions, CheckRun, DatasetCheck } from "./dataset-check.js";

/** Fails when the partition has fewer than `min` or more than `max` rows. */
export function rowCount(options: { readonly min?: number; readonly max?: number } & CheckOptions): DatasetCheck {
  const { min, max } = options;
  for (const [key, value] of [["min", min], ["max", max]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new TypeError(`rowCount: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  if (min === undefined && max === undefined) throw new TypeError("rowCount: give min, max or both");
  const limits = [...(min === undefined ? [] : [`min: ${min}`]), ...(max === undefined ? [] : [`max: ${max}`])].join(", ");
  return builtIn(`rowCount(${limits})`, options, () => {
    let count = 0;
    return {
      add: () => void (count += 1),
      finish: () => {
        if (min !== undefined && count < min) return `${rows(count)}, expected at least ${min}`;
        if (max !== undefined && count > max) return `${rows(count)}, expected at most ${max}`;
        return undefined;
      },
    };
  });
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
  return builtIn(`maxChangeFromPrevious(rows: ${limit})`, options, (context) => {
    let count = 0;
    return {
      add: () => void (count += 1),
      finish: () => {
        const before = context.previous?.rowCount;
        if (before === undefined || count === before) return undefined;
        const change = before === 0 ? Infinity : (count - before) / before;
        if (Math.abs(change) <= limit) return undefined;
        const shown = Number.isFinite(change) ? `${change > 0 ? "+" : ""}${formatPercent(change)}` : "from none";
        return `${rows(count)}, the previous version had ${before} (${shown}, limit ±${formatPercent(limit)})`;
      },
    };
  });
}

function builtIn(name: string, options: CheckOptions, start: (context: CheckContext) => CheckRun): DatasetCheck {
  if (options.severity !== undefined && options.severity !== "error" && options.severity !== "warn") {
    throw new TypeError(`${name}: severity must be "error" or "warn", got ${JSON.stringify(options.severity)}`);
  }
  return Object.freeze({ name, severity: options.severity ?? "error", start });
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
