import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ColumnSpec, WarehouseTable } from "@reflow/core";
import { CommitQueue } from "../src/commit-queue.js";
import { SqliteWarehouse } from "../src/index.js";

let file = "";
let db: Database.Database;

beforeEach(() => {
  file = path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-commit-queue-")), "test.db");
  db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec("create table t (id integer primary key, note text not null)");
});
afterEach(() => db.close());

/** What another connection sees: only what was committed. */
function committed(sql = "select id, note from t order by id"): unknown[] {
  const reader = new Database(file, { readonly: true });
  try {
    return reader.prepare(sql).all();
  } finally {
    reader.close();
  }
}

describe("CommitQueue", () => {
  it("commits the works queued in one turn in one transaction, and each promise only once committed", async () => {
    const queue = new CommitQueue(db);
    const insert = db.prepare("insert into t (id, note) values (?, ?)");
    const seenByWork: unknown[][] = [];
    const seenOnResolve: unknown[][] = [];
    const done = [1, 2, 3].map((id) =>
      queue
        .run(() => {
          insert.run(id, `n${id}`);
          // Another connection sees none of the turn's rows while its transaction is open.
          seenByWork.push(committed());
        })
        .then(() => seenOnResolve.push(committed())),
    );
    // Nothing runs before the turn ends.
    expect(seenByWork).toEqual([]);
    await Promise.all(done);
    const all = [
      { id: 1, note: "n1" },
      { id: 2, note: "n2" },
      { id: 3, note: "n3" },
    ];
    expect(seenByWork).toEqual([[], [], []]);
    expect(seenOnResolve).toEqual([all, all, all]);
    // A work queued in a later turn is a transaction of its own: the earlier ones are committed by then.
    await queue.run(() => {
      insert.run(4, "n4");
      seenByWork.push(committed());
    });
    expect(seenByWork.at(-1)).toEqual(all);
  });

  it("fails only the work that threw: the others are committed, and nothing of the bad one is", async () => {
    const queue = new CommitQueue(db);
    const insert = db.prepare("insert into t (id, note) values (?, ?)");
    const results = await Promise.allSettled([
      queue.run(() => insert.run(1, "a")),
      queue.run(() => {
        insert.run(2, "half");
        insert.run(3, null);
      }),
      queue.run(() => insert.run(4, "c")),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain("NOT NULL constraint failed: t.note");
    expect(committed()).toEqual([
      { id: 1, note: "a" },
      { id: 4, note: "c" },
    ]);
  });
});

describe("SqliteWarehouse versions opened and finished together", () => {
  const columns: ColumnSpec[] = [{ name: "n", type: "integer", nullable: false, optional: false }];
  const table: WarehouseTable = { dataset: "things", columns };

  it("registers each version before it is written and records each one's own row count", async () => {
    const warehouse = new SqliteWarehouse({ path: path.join(path.dirname(file), "warehouse.db") });
    const versions = () => {
      const reader = new Database(path.join(path.dirname(file), "warehouse.db"), { readonly: true });
      try {
        return reader.prepare("select version, state, row_count as rowCount from _reflow_versions order by version").all();
      } finally {
        reader.close();
      }
    };
    try {
      await warehouse.prepare(table);
      const writers = await Promise.all([1, 2, 3].map((version) => warehouse.openVersion(table, { partition: `p${version}`, version })));
      expect(versions()).toEqual([1, 2, 3].map((version) => ({ version, state: "writing", rowCount: null })));
      // Version 1 in two batches (the first committed when the second arrives), 2 in one, 3 in none.
      await writers[0]!.write([{ n: 1 }, { n: 2 }]);
      await writers[0]!.write([{ n: 3 }]);
      await writers[1]!.write([{ n: 4 }]);
      await Promise.all(writers.map((w) => w.finish()));
      expect(versions()).toEqual([
        { version: 1, state: "written", rowCount: 3 },
        { version: 2, state: "written", rowCount: 1 },
        { version: 3, state: "written", rowCount: 0 },
      ]);
      const rows: unknown[] = [];
      for await (const batch of warehouse.read(table, [1, 2, 3].map((version) => ({ partition: `p${version}`, version })))) rows.push(...batch);
      expect(rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    } finally {
      await warehouse.close();
    }
  });
});
