import { describe, expect, it } from "vitest";
import type { PartitionVersionRef, Row, Warehouse, WarehouseTable } from "@reflow/core";
import { inputReader } from "../src/input-reader.js";
import { TaskError } from "../src/task-error.js";
import { forEachRow } from "../src/transform-output.js";
import type { ExecutableDataset } from "../src/execute-plan.js";

const dataset = { declaration: { runProperty: "transform" } } as unknown as ExecutableDataset;

describe("forEachRow", () => {
  it("visits the rows of an array, a sync iterable and an async iterable in order, waiting when visit returns a promise", async () => {
    const seen: unknown[] = [];
    const visit = (row: unknown) => {
      seen.push(row);
      if (row === 2) return new Promise<void>((resolve) => setTimeout(() => (seen.push("waited"), resolve()), 5));
    };
    await forEachRow([1, 2, 3], dataset, "/", visit);
    await forEachRow(new Set([1, 2, 3]), dataset, "/", visit);
    await forEachRow(
      (async function* () {
        yield* [1, 2, 3];
      })(),
      dataset,
      "/",
      visit,
    );
    expect(seen).toEqual([1, 2, "waited", 3, 1, 2, "waited", 3, 1, 2, "waited", 3]);
  });

  it("makes an error of the user's async iterable the task's error, and passes visit's own errors through after closing the iterable", async () => {
    const failing = (async function* () {
      yield 1;
      throw new Error("boom");
    })();
    const error = await forEachRow(failing, dataset, "/", () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).code).toBe("REFLOW_TRANSFORM_FAILED");
    expect((error as TaskError).message).toMatch(/^transform threw.*: boom$/);

    const events: string[] = [];
    const rows = (async function* () {
      try {
        yield 1;
        yield 2;
        events.push("not reached");
      } finally {
        events.push("closed");
      }
    })();
    const invalid = new Error("invalid row");
    await expect(
      forEachRow(rows, dataset, "/", (row) => {
        if (row === 2) throw invalid;
      }),
    ).rejects.toBe(invalid);
    expect(events).toEqual(["closed"]);
  });

  it("refuses what is not rows", async () => {
    await expect(forEachRow(null, dataset, "/", () => {})).rejects.toThrow("transform returned null, expected an array or (async) iterable of rows");
    await expect(forEachRow(3, dataset, "/", () => {})).rejects.toThrow("transform returned number, expected an array or (async) iterable of rows");
  });
});

describe("inputReader", () => {
  const table: WarehouseTable = { dataset: "events", columns: [{ name: "n", type: "integer", nullable: false, optional: false }] };
  /** A warehouse whose read gives each version's rows in pages of 2 (an empty page in between), counting pages read. */
  const pagedWarehouse = (stats: { pages: number; closed: number }) =>
    ({
      async *read(_table: WarehouseTable, refs: readonly PartitionVersionRef[]) {
        try {
          for (const ref of refs) {
            const rows = [1, 2, 3, 4, 5].map((n) => ({ n: ref.version * 10 + n }));
            for (let i = 0; i < rows.length; i += 2) {
              stats.pages += 1;
              yield rows.slice(i, i + 2);
              if (i === 0) yield [];
            }
          }
        } finally {
          stats.closed += 1;
        }
      },
    }) as unknown as Warehouse;
  const refs = [
    { partition: "2024-01-01", version: 1 },
    { partition: "2024-01-02", version: 2 },
  ];
  const expected = [11, 12, 13, 14, 15, 21, 22, 23, 24, 25].map((n) => ({ n }));

  it("gives every row in order, by for await, by rows(), and to next() calls made before the previous one resolved", async () => {
    const reader = inputReader(pagedWarehouse({ pages: 0, closed: 0 }), table, refs);
    expect(reader.partitions).toEqual(["2024-01-01", "2024-01-02"]);
    const iterated: Row[] = [];
    for await (const row of reader) iterated.push(row);
    expect(iterated).toEqual(expected);
    expect(await reader.rows()).toEqual(expected);

    const iterator = reader[Symbol.asyncIterator]();
    const results = await Promise.all(Array.from({ length: 12 }, () => iterator.next()));
    expect(results).toEqual([...expected.map((value) => ({ done: false, value })), { done: true, value: undefined }, { done: true, value: undefined }]);
  });

  it("lets the event loop turn while rows are read, however long reading takes (timers such as the lock's heartbeat run)", async () => {
    // Ten pages, each taking 20 ms of synchronous work to read (better-sqlite3 reads synchronously) and resolving at once.
    const slowWarehouse = {
      async *read() {
        for (let page = 0; page < 10; page += 1) {
          busyFor(20);
          yield [{ n: page }];
        }
      },
    } as unknown as Warehouse;
    let fired = 0;
    const timer = setInterval(() => (fired += 1), 1);
    try {
      const iterated: Row[] = [];
      for await (const row of inputReader(slowWarehouse, table, refs)) iterated.push(row);
      expect(iterated).toHaveLength(10);
      expect(fired).toBeGreaterThanOrEqual(2);
      fired = 0;
      expect(await inputReader(slowWarehouse, table, refs).rows()).toHaveLength(10);
      expect(fired).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(timer);
    }
  });

  it("stops reading pages when the transform stops iterating", async () => {
    const stats = { pages: 0, closed: 0 };
    for await (const row of inputReader(pagedWarehouse(stats), table, refs)) if (row.n === 12) break;
    expect(stats).toEqual({ pages: 1, closed: 1 });
  });
});

/** Keeps the thread busy for `ms`, as synchronous work does. */
function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}
