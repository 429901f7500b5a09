import { existsSync } from "node:fs";
import type { Warehouse, WarehouseLocation } from "@reflow/core";
import { recoverHotJournal } from "@reflow/state";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";

/**
 * The configured warehouse, writable or read-only. A read-only open of a
 * warehouse nobody wrote yet is `undefined` (a SQLite file is not created; an
 * empty PostgreSQL schema reads as empty). `pg` is loaded only for a
 * PostgreSQL warehouse, so the SQLite default never needs it.
 */
export async function openWarehouse(location: WarehouseLocation, mode: "read" | "write"): Promise<Warehouse | undefined> {
  if (location.type === "postgres") {
    const { PostgresWarehouse } = await import("@reflow/warehouse-postgres");
    return PostgresWarehouse.open({ url: location.url, schema: location.schema, readOnly: mode === "read" });
  }
  if (mode === "write") return new SqliteWarehouse({ path: location.path });
  if (!existsSync(location.path)) return undefined;
  recoverHotJournal(location.path);
  return new SqliteWarehouse({ path: location.path, readOnly: true });
}
