import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsOf, daily, dataset, previous, source, type DatasetDeclaration, type PartitionInfo, type RetryPolicy } from "@reflow/core";
import { createPlan, type PlannedTask } from "@reflow/planner";
import { openStateStore } from "@reflow/state";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";
import { executePlan, taskUnits, type EngineEvent, type ExecutableDataset, type TaskOrder } from "../src/index.js";

const days = daily({ start: "2024-01-01" });
const asOf = new Date("2024-01-08T00:00:00Z"); // 2024-01-01 … 2024-01-07
const row = z.object({ day: z.string(), n: z.number() });

function compiled(declaration: DatasetDeclaration): ExecutableDataset & { inputs: { alias: string; dataset: string; mapping: { kind: "identity" | "previous" } }[] } {
  return {
    name: declaration.name,
    kind: declaration.kind,
    partitions: declaration.partitions,
    columns: columnsOf(declaration.schema, declaration.name),
    fingerprint: `${declaration.name}-1`,
    inputs: declaration.inputs.map((i) => ({ alias: i.alias, dataset: i.dataset, mapping: { kind: i.mapping?.kind === "previous" ? ("previous" as const) : ("identity" as const) } })),
    declaration,
  };
}

/** Plans every partition of the datasets (in this order) on an empty state and executes the plan. */
async function execute(declarations: DatasetDeclaration[], options: { order?: TaskOrder; retries?: RetryPolicy } = {}) {
  const datasets = new Map(declarations.map((d) => [d.name, { ...compiled(d), ...(options.retries ? { retries: options.retries } : {}) }]));
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-batches-"));
  const store = (await openStateStore(path.join(dir, "state.db"), "write"))!;
  const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
  const events: EngineEvent[] = [];
  try {
    const snapshot = await store.reader.snapshot();
    const plan = createPlan({ datasets, order: declarations.map((d) => d.name), state: snapshot, asOf });
    const result = await executePlan({
      plan,
      datasets,
      snapshot,
      state: store.writer!,
      warehouse,
      concurrency: 2,
      command: "test",
      projectDir: dir,
      onEvent: (event) => events.push(event),
      ...(options.order ? { order: options.order } : {}),
    });
    const last = declarations.at(-1)!.name;
    const live = Object.fromEntries(await warehouse.liveVersions(declarations[0]!.name));
    const rows: unknown[] = [];
    const refs = [...(await warehouse.liveVersions(last))].map(([partition, version]) => ({ partition, version }));
    for await (const batch of warehouse.read({ dataset: last, columns: datasets.get(last)!.columns }, refs)) rows.push(...batch);
    return { result, live, rows, events, snapshot: await store.reader.snapshot() };
  } finally {
    await warehouse.close();
    await store.close();
  }
}

/** A batched source (batch 3) and a daily count reading it; `read` is what the source returns per call. */
async function run(read: (partitions: readonly PartitionInfo[]) => unknown, options: { retries?: RetryPolicy } = {}) {
  const calls: string[][] = [];
  const events = source("events", {
    partitions: days,
    schema: row,
    batch: 3,
    read: ({ partitions }) => {
      calls.push(partitions.map((p) => p.key));
      return read(partitions) as Record<string, { day: string; n: number }[]>;
    },
  });
  const counts = dataset("counts", {
    partitions: days,
    schema: row,
    inputs: { events },
    transform: async ({ partition, inputs }) => [{ day: partition.key, n: (await inputs.events.rows()).reduce((sum, r) => sum + r.n, 0) }],
  });
  return { calls, ...(await execute([events, counts], options)) };
}

const perDay = (partitions: readonly PartitionInfo[]) => Object.fromEntries(partitions.map((p) => [p.key, [{ day: p.key, n: Number(p.key.slice(-2)) }, { day: p.key, n: 100 }]]));

describe("batch: N", () => {
  it("hands consecutive planned partitions to one call, N at a time; each partition is its own version", async () => {
    const { calls, result, live, rows, snapshot } = await run(perDay);
    expect(calls).toEqual([
      ["2024-01-01", "2024-01-02", "2024-01-03"],
      ["2024-01-04", "2024-01-05", "2024-01-06"],
      ["2024-01-07"],
    ]);
    expect(result).toMatchObject({ status: "succeeded", succeeded: 14, failed: [], blocked: [], rowsWritten: 21 });
    expect(Object.keys(live)).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]);
    expect(new Set(Object.values(live)).size).toBe(7);
    expect(rows.map((r) => (r as { n: number }).n)).toEqual([101, 102, 103, 104, 105, 106, 107]);
    expect([...snapshot.partitions.get("events")!.values()].map((p) => p.rowCount)).toEqual([2, 2, 2, 2, 2, 2, 2]);
  });

  it("a key absent from the result has no rows", async () => {
    const { rows, result } = await run((partitions) => perDay(partitions.filter((p) => p.key !== "2024-01-05")));
    expect(result.status).toBe("succeeded");
    expect(rows.map((r) => (r as { n: number }).n)).toEqual([101, 102, 103, 104, 0, 106, 107]);
  });

  it("a bad partition fails its whole batch: nothing of it is published, its readers are blocked, other batches go on", async () => {
    const { result, live, rows } = await run((partitions) => {
      const out = perDay(partitions);
      if (out["2024-01-05"]) out["2024-01-05"] = [{ day: "2024-01-05", n: "many" as unknown as number }];
      return out;
    });
    expect(result.status).toBe("failed");
    expect(result.failed.map((f) => f.partition)).toEqual(["2024-01-04", "2024-01-05", "2024-01-06"]);
    expect(result.failed[0]!.error).toBe(
      'REFLOW_SCHEMA_VIOLATION: dataset "events" partition 2024-01-04: in partition 2024-01-05 of the batch 2024-01-04 … 2024-01-06: row 1 (index 0): field "n": Invalid input: expected number, received string',
    );
    expect(result.blocked.map((b) => `${b.dataset} ${b.partition}`)).toEqual(["counts 2024-01-04", "counts 2024-01-05", "counts 2024-01-06"]);
    expect(Object.keys(live)).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-07"]);
    expect(rows).toHaveLength(4);
  });

  it("rows for a partition outside the batch, or rows not keyed by partition, fail the batch", async () => {
    const outside = await run((partitions) => ({ ...perDay(partitions), "2024-02-01": [] }));
    expect(outside.result.failed[0]!.error).toBe(
      'REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-01: read returned rows for partition "2024-02-01", which is not in this batch (2024-01-01 … 2024-01-03)',
    );
    const flat = await run(() => [{ day: "2024-01-01", n: 1 }]);
    expect(flat.result.failed[0]!.error).toBe(
      'REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-01: read has batch: 3, so it must return rows by partition key ({ "2024-01-01": rows, … } or a Map), got an array',
    );
    expect(flat.live).toEqual({});
  });
});

describe("retries and self-dependency", () => {
  it("a batch is retried as a whole; every member records the failed attempt", async () => {
    let failures = 1;
    const { calls, result, events } = await run(
      (partitions) => {
        if (partitions[0]!.key === "2024-01-04" && failures-- > 0) throw new Error("rate limited");
        return perDay(partitions);
      },
      { retries: { attempts: 2, backoff: "fixed", initialDelayMs: 1, maxDelayMs: 1 } },
    );
    expect(result.status).toBe("succeeded");
    expect(calls.map((c) => c[0]).sort()).toEqual(["2024-01-01", "2024-01-04", "2024-01-04", "2024-01-07"]); // the failed batch twice
    expect(events.flatMap((e) => (e.type === "task-retrying" ? [`${e.task.partition} ${e.attempt}/${e.attempts}`] : []))).toEqual(["2024-01-04 1/2", "2024-01-05 1/2", "2024-01-06 1/2"]);
  });

  it("previous(): each partition is built after the one before, even newest-first", async () => {
    const order: string[] = [];
    const sales = source("sales", { partitions: days, schema: row, read: ({ partition }) => [{ day: partition.key, n: Number(partition.key.slice(-2)) }] });
    const total = dataset("total", {
      partitions: days,
      schema: row,
      inputs: { sales, prior: previous<{ day: string; n: number }>() },
      transform: async ({ partition, inputs }) => {
        order.push(partition.key);
        const before = (await inputs.prior.rows())[0]?.n ?? 0;
        return [{ day: partition.key, n: before + (await inputs.sales.rows())[0]!.n }];
      },
    });
    const { result, rows } = await execute([sales, total], { order: "newest-first" });
    expect(result.status).toBe("succeeded");
    expect(order).toEqual(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]);
    expect(rows.map((r) => (r as { n: number }).n)).toEqual([1, 3, 6, 10, 15, 21, 28]);
  });
});

describe("taskUnits", () => {
  const task = (dataset: string, partition: string): PlannedTask => ({ dataset, partition, reason: "missing", fingerprint: "f", inputs: [] });
  it("groups a batched dataset's planned partitions in plan order, N at a time, and leaves the others alone", () => {
    const tasks = [task("a", "01"), task("a", "02"), task("a", "05"), task("b", "01"), task("b", "02"), task("a", "06")];
    expect(taskUnits(tasks, (name) => (name === "a" ? 2 : undefined))).toEqual({ units: [[0, 1], [2, 5], [3], [4]], unitOf: [0, 0, 1, 2, 3, 1] });
  });
});
