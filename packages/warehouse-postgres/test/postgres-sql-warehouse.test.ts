import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentHasher, type ColumnSpec, type WarehouseTable } from "@reflow/core";
import { createTestDatabase, postgresUnavailable, queryDatabase, type TestDatabase } from "../../../test/support/postgres-server.js";
import { payments, rowsOf, seedPayments, sqlWarehouseConformance } from "../../../test/support/sql-warehouse-conformance.js";
import { PostgresWarehouse } from "../src/index.js";

const unavailable = await postgresUnavailable();

if (unavailable) {
  describe.skip(`PostgresSqlWarehouse (skipped: ${unavailable})`, () => {
    it("needs a PostgreSQL server", () => {});
  });
} else {
  let database: TestDatabase | undefined;
  sqlWarehouseConformance("PostgresWarehouse", {
    open: async () => {
      database = await createTestDatabase();
      return PostgresWarehouse.open({ url: database.url, schema: "marts" });
    },
    cleanUp: async () => database?.drop(),
    integerType: "bigint",
    numberIntoText: { error: 'column "note" is numeric in the warehouse, but the schema says text' },
  });

  describe("PostgresSqlWarehouse", () => {
    let db: TestDatabase;
    let warehouse: PostgresWarehouse;
    beforeEach(async () => {
      db = await createTestDatabase();
      warehouse = await PostgresWarehouse.open({ url: db.url, schema: "marts" });
      await seedPayments(warehouse);
    });
    afterEach(async () => {
      await warehouse.close();
      await db.drop();
    });

    const profileColumns: ColumnSpec[] = [
      { name: "user_id", type: "text", nullable: false, optional: false },
      { name: "active", type: "boolean", nullable: false, optional: false },
      { name: "total", type: "real", nullable: false, optional: false },
      { name: "detail", type: "json", nullable: true, optional: false },
    ];
    const profile: WarehouseTable = { dataset: "profile", columns: profileColumns };
    const input = () => warehouse.sql.versionsOf(payments, [{ partition: "p", version: 1 }], "payments");

    it("stores booleans, numbers and json as a transform would, with the same content hash", async () => {
      await warehouse.prepare(profile);
      const query = sql`select user_id, count(*) > 1 as active, avg(amount) as total,
        case when user_id = 'bob' then null else json_build_object('n', count(*), 'max', max(amount)) end as detail
        from ${input()} group by user_id`;
      const written = await warehouse.sql.writeVersion(profile, { partition: "2024-01-01", version: 20 }, query);
      const expected = [
        { user_id: "alice", active: true, total: 5.5, detail: { n: 2, max: 10 } },
        { user_id: "bob", active: false, total: 1, detail: null },
      ];
      expect(await rowsOf(warehouse, profile, 20)).toEqual(expected);
      const hasher = new ContentHasher(profileColumns);
      for (const row of expected) hasher.add(row);
      expect(written).toEqual({ rowCount: 2, contentHash: hasher.digest() });
    });

    it("computes the content hash in the database exactly as ContentHasher does over the rows read back: escapes, unicode, nulls, integers up to 2^53 and beyond", async () => {
      const columns: ColumnSpec[] = [
        { name: "label", type: "text", nullable: true, optional: false },
        { name: "n", type: "integer", nullable: true, optional: false },
        { name: "flag", type: "boolean", nullable: true, optional: true },
      ];
      const tricky: WarehouseTable = { dataset: "tricky", columns };
      await warehouse.prepare(tricky);
      const digestOfReadBack = async (version: number) => {
        const hasher = new ContentHasher(columns);
        for (const row of await rowsOf(warehouse, tricky, version)) hasher.add(row);
        return hasher.digest();
      };
      const labels = [`quote " and \\ backslash`, "tab\tnew\nline\rcr\u0001\u001f\u007f", "é ü 漢字 😀", "line\u2028sep\u2029", "", "/slash/"];
      const values = labels.map((label, i) => sql`(${label}::text, ${[0, -1, 9007199254740991, -9007199254740991, 42, null][i] ?? null}::bigint, ${[true, false, null, true, false, null][i] ?? null}::boolean)`);
      const query = sql`select * from (values ${sql.join(values)}) as v(label, n, flag) union all select null, null, null`;
      const written = await warehouse.sql.writeVersion(tricky, { partition: "2024-01-01", version: 30 }, query);
      expect(written.rowCount).toBe(7);
      expect(written.contentHash).toBe(await digestOfReadBack(30));
      // No rows: the empty digest.
      const empty = await warehouse.sql.writeVersion(tricky, { partition: "2024-01-02", version: 31 }, sql`select 'x'::text as label, 1::bigint as n where false`);
      expect(empty).toEqual({ rowCount: 0, contentHash: new ContentHasher(columns).digest() });
      // Beyond 2^53 the rows read back are rounded doubles: the digest is theirs (read back), still equal.
      const big = await warehouse.sql.writeVersion(tricky, { partition: "2024-01-03", version: 32 }, sql`select 'big'::text as label, 9007199254740993::bigint as n`);
      expect(big.contentHash).toBe(await digestOfReadBack(32));
    });

    it("takes jsonb as json, and 0 and 1 as booleans", async () => {
      await warehouse.prepare(profile);
      const query = sql`select user_id, 1 as active, 2 as total, jsonb_build_array(user_id) as detail from ${input()} where amount = 10`;
      await warehouse.sql.writeVersion(profile, { partition: "2024-01-01", version: 21 }, query);
      expect(await rowsOf(warehouse, profile, 21)).toEqual([{ user_id: "alice", active: true, total: 2, detail: ["alice"] }]);
    });

    it("rejects text for json and booleans, naming the stored type", async () => {
      await warehouse.prepare(profile);
      for (const [query, message] of [
        [sql`select user_id, true as active, 1 as total, '{}' as detail from ${input()}`, 'column "detail" is text in the warehouse, but the schema says json (or jsonb)'],
        [sql`select user_id, 'yes' as active, 1 as total from ${input()}`, 'column "active" is text in the warehouse, but the schema says booleans (0 or 1)'],
      ] as const) {
        await expect(warehouse.sql.writeVersion(profile, { partition: "2024-01-01", version: 22 }, query)).rejects.toMatchObject({ code: "REFLOW_SCHEMA_MISMATCH", message });
      }
    });

    it("reports an error in the query as the user's, keeping nothing", async () => {
      const query = sql`select user_id, amount as cents, 0 as vip from ${input()} where no_such_column = 1`;
      await expect(warehouse.sql.writeVersion(payments, { partition: "2024-01-01", version: 23 }, query)).rejects.toMatchObject({
        code: "REFLOW_TRANSFORM_FAILED",
        message: 'the warehouse rejected the query: column "no_such_column" does not exist',
      });
      // A value PostgreSQL refuses while inserting rolls the version back too.
      const overflow = sql`select user_id, 1e30 as cents, 0 as vip from ${input()}`;
      const spend: WarehouseTable = { dataset: "spend", columns: [payments.columns[0]!, { name: "cents", type: "integer", nullable: false, optional: false }, { name: "vip", type: "boolean", nullable: false, optional: false }] };
      await expect(warehouse.sql.writeVersion(spend, { partition: "2024-01-01", version: 24 }, overflow)).rejects.toMatchObject({ code: "REFLOW_TRANSFORM_FAILED", message: "the warehouse rejected the query: bigint out of range" });
      expect(await warehouse.storedVersions("spend")).toEqual([]);
      expect(await queryDatabase(db.url, "select count(*) as n from marts.spend__rows")).toEqual([{ n: 0 }]);
    });
  });
}
