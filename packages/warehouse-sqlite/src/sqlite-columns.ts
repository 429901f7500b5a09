import type { ColumnSpec } from "@reflow/core";

/** How the embedded warehouse names, types and encodes a dataset's columns. */
export function rowsTable(dataset: string): string {
  return `${dataset}__rows`;
}

export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function sqlType(column: ColumnSpec): string {
  switch (column.type) {
    case "text":
    case "json":
      return "text";
    case "integer":
    case "boolean":
      return "integer";
    case "real":
      return "real";
  }
}

export function toSql(value: unknown, column: ColumnSpec): unknown {
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case "boolean":
      return value ? 1 : 0;
    case "json":
      return JSON.stringify(value);
    default:
      return value;
  }
}

export function fromSql(value: unknown, column: ColumnSpec): unknown {
  if (value === null) return column.nullable ? null : undefined;
  switch (column.type) {
    case "boolean":
      return value === 1;
    case "json":
      return JSON.parse(value as string);
    default:
      return value;
  }
}
