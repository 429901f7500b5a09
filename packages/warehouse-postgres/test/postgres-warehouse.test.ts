import { describe, expect, it } from "vitest";
import { isReflowError, type ColumnSpec } from "@reflow/core";
import { createTestDatabase, postgresUnavailable, queryDatabase, type TestDatabase } from "../../../test/support/postgres-server.js";
import { warehouseConformance } from "../../../test/support/warehouse-conformance.js";
import { PostgresWarehouse } from "../src/index.js";

const unavailable = await postgresUnavailable();

if (unavailable) {
  describe.skip(`PostgresWarehouse (skipped: ${unavailable})`, () => {
    it("needs a PostgreSQL server", () => {});
  });
} else {
  let database: TestDatabase | undefined;
  warehouseConformance("PostgresWarehouse", {
    open: async () => {
      database = await createTestDatabase();
      return PostgresWarehouse.open({ url: database.url, schema: "marts" });
    },
    query: (sql) => queryDatabase(database!.url, withSchema(sql)),
    raw: { boolean: (value) => value, json: (value) => value },
    cleanUp: async () => database?.drop(),
  });

  describe("PostgresWarehouse", () => {
    it("reads a schema nobody wrote yet as empty, creating nothing", async () => {
      const db = await createTestDatabase();
      try {
        const warehouse = await PostgresWarehouse.open({ url: db.url, schema: "marts", readOnly: true });
        expect(await warehouse.liveVersions("things")).toEqual(new Map());
        expect(await warehouse.storedVersions()).toEqual([]);
        await warehouse.close();
        expect(await queryDatabase(db.url, "select nspname from pg_namespace where nspname = 'marts'")).toEqual([]);
      } finally {
        await db.drop();
      }
    });

    it("fences a version between claims: a higher fence takes it over, and the lower one's writes, finish and abort change nothing", async () => {
      const db = await createTestDatabase();
      const table = { dataset: "things", columns: [{ name: "n", type: "integer", nullable: false, optional: false }] as ColumnSpec[] };
      const warehouse = await PostgresWarehouse.open({ url: db.url, schema: "marts" });
      const ref = { partition: "*", version: 7 };
      try {
        // The first claimer writes part of the version, then stalls past its lease.
        const zombie = await warehouse.openVersion(table, ref, { fence: 1 });
        await zombie.write([{ n: 1 }, { n: 2 }]);
        // The next claimer takes the version over: what the first wrote is gone.
        const second = await warehouse.openVersion(table, ref, { fence: 2 });
        expect(await queryDatabase(db.url, "select count(*)::int as n from marts.things__rows")).toEqual([{ n: 0 }]);
        await second.write([{ n: 10 }]);
        // The first wakes up: nothing it does lands.
        const lost = "version 7 of things * was taken over by a newer claim (this claim's lease ran out); nothing more was written";
        await expect(zombie.write([{ n: 3 }])).rejects.toThrow(lost);
        await expect(zombie.finish()).rejects.toThrow(lost);
        await zombie.abort();
        await expect(warehouse.openVersion(table, ref, { fence: 1 })).rejects.toThrow("version 7 of things * is held by a newer claim (fence 2, state writing); nothing was written");
        await second.write([{ n: 20 }]);
        await second.finish();
        expect(await warehouse.storedVersions("things")).toEqual([{ dataset: "things", partition: "*", version: 7, state: "written", rowCount: 2 }]);
        const rows: unknown[] = [];
        for await (const batch of warehouse.read(table, [ref])) rows.push(...batch);
        expect(rows).toEqual([{ n: 10 }, { n: 20 }]);
        await warehouse.publish("things", [ref]);
        // A live version is never taken over.
        await expect(warehouse.openVersion(table, ref, { fence: 3 })).rejects.toThrow("version 7 of things * is held by a newer claim (fence 2, state live); nothing was written");
      } finally {
        await warehouse.close();
        await db.drop();
      }
    });

    it("keeps users' own views on a dataset working when a column is added", async () => {
      const db = await createTestDatabase();
      const columns: ColumnSpec[] = [{ name: "n", type: "integer", nullable: false, optional: false }];
      const warehouse = await PostgresWarehouse.open({ url: db.url, schema: "marts" });
      try {
        const writer = await warehouse.openVersion({ dataset: "things", columns }, { partition: "*", version: 1 });
        await writer.write([{ n: 1 }, { n: 2 }]);
        await writer.finish();
        await warehouse.publish("things", [{ partition: "*", version: 1 }]);
        await queryDatabase(db.url, "create view public.report as select cast(sum(n) as integer) as total from marts.things");
        await warehouse.prepare({ dataset: "things", columns: [...columns, { name: "label", type: "text", nullable: true, optional: true }] });
        expect(await queryDatabase(db.url, "select total from public.report")).toEqual([{ total: 3 }]);
        expect(await queryDatabase(db.url, "select n, label from marts.things order by n")).toEqual([
          { n: 1, label: null },
          { n: 2, label: null },
        ]);
      } finally {
        await warehouse.close();
        await db.drop();
      }
    });

    it("reports an unreachable server without its password", async () => {
      const url = "postgres://app:hunter2@127.0.0.1:1/nowhere";
      const error = await PostgresWarehouse.open({ url, schema: "public" }).catch((e: unknown) => e);
      expect(isReflowError(error) && error.code).toBe("REFLOW_STORAGE_UNAVAILABLE");
      expect((error as Error).message).toMatch(/^warehouse: cannot use PostgreSQL at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/nowhere: connect ECONNREFUSED/);
      expect((error as Error).message).not.toContain("hunter2");
    });
  });
}

/** Queries in the warehouse's schema, as a user with `search_path = marts` would write them. */
function withSchema(sql: string): string {
  return sql.replace(/\b(from|join)\s+(\w+)/g, "$1 marts.$2");
}
