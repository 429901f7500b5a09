import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsOf, daily, source, type DatasetDeclaration } from "@reflow/core";
import type { WorkQueue } from "@reflow/state";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";
import { queueDispatcher, unitFingerprint, type ExecutableDataset } from "../src/index.js";

const days = daily({ start: "2024-01-01" });
const row = z.object({ day: z.string(), n: z.number() });

function compiled(declaration: DatasetDeclaration): ExecutableDataset {
  return { name: declaration.name, kind: declaration.kind, partitions: declaration.partitions, columns: columnsOf(declaration.schema, declaration.name), fingerprint: `${declaration.name}-1`, inputs: [], declaration };
}

/** A work queue in memory: the rows, and what was asked of it. */
function memoryQueue(log: string[], enqueueing: Promise<void> = Promise.resolve()) {
  const rows: { id: number; status: string; dataset: string; fingerprint: string; payload: string }[] = [];
  const queue = {
    clearEndedRuns: async () => 0,
    enqueue: async (_run: number, units: readonly { dataset: string; fingerprint: string; payload: string }[]) => {
      await enqueueing;
      return units.map((unit) => {
        rows.push({ id: rows.length + 1, status: "ready", ...unit });
        return rows.length;
      });
    },
    claim: async () => {
      const unit = rows.find((r) => r.status === "ready");
      if (!unit) return undefined;
      unit.status = "claimed";
      log.push(`claim ${unit.id}`);
      return { id: unit.id, runId: 1, dataset: unit.dataset, fingerprint: unit.fingerprint, firstTaskId: unit.id, payload: unit.payload, token: "t", claims: 1 };
    },
    renew: async () => true,
    report: async () => true,
    takeReports: async () => [],
    withdrawReady: async () => {
      const ids = rows.filter((r) => r.status === "ready").map((r) => r.id);
      for (const r of rows) if (r.status === "ready") r.status = "withdrawn";
      log.push(`withdrawReady ${ids.join(",")}`);
      return ids;
    },
    refused: async () => [],
    hasWork: async () => true,
  } as unknown as WorkQueue;
  return { queue, rows };
}

async function dispatcherFor(queue: WorkQueue, read: (key: string) => Promise<void>) {
  const sales = source("sales", { partitions: days, schema: row, read: async ({ partition }) => (await read(partition.key), [{ day: partition.key, n: 1 }]) });
  const datasets = new Map([sales].map((d) => [d.name, compiled(d)]));
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-queue-dispatcher-"));
  const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
  const dispatcher = queueDispatcher({ queue, datasets, warehouse, projectDir: dir, slots: 1, leaseMs: 60_000, claimPollMs: 5, resultPollMs: 5 });
  const fingerprint = unitFingerprint(datasets.get("sales")!, datasets);
  const unit = (taskId: number, partition: string) => ({ dataset: "sales", fingerprint, builds: [{ taskId, partition, inputs: {} }] });
  return { dispatcher, unit, warehouse };
}

const settled = (outcome: Promise<unknown>) => outcome.then((value) => `resolved ${JSON.stringify(value)}`, (error: Error) => `rejected: ${error.message}`);

describe("queueDispatcher.abandon", () => {
  it("rejects every unit not handed back, claimed or not; its own slots claim no more; the unclaimed units leave the queue", async () => {
    const log: string[] = [];
    const { queue, rows } = memoryQueue(log);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const { dispatcher, unit, warehouse } = await dispatcherFor(queue, async (key) => {
      log.push(`build ${key}`);
      if (key === "2024-01-01") await gate;
    });
    try {
      await dispatcher.start(1);
      const outcomes = ["2024-01-01", "2024-01-02", "2024-01-03"].map((partition, k) => settled(dispatcher.dispatch(unit(k + 1, partition))));
      while (!log.includes("build 2024-01-01")) await new Promise((resolve) => setTimeout(resolve, 5));
      dispatcher.abandon(new Error("the lock was lost"));
      expect(await Promise.all(outcomes)).toEqual(Array(3).fill("rejected: the lock was lost"));
      expect(await settled(dispatcher.dispatch(unit(4, "2024-01-04")))).toBe("rejected: the lock was lost");
      openGate();
      await dispatcher.stop();
      expect(log).toEqual(["claim 1", "build 2024-01-01", "withdrawReady 2,3"]);
      expect(rows.map((r) => r.status)).toEqual(["claimed", "withdrawn", "withdrawn"]);
    } finally {
      await warehouse.close();
    }
  });

  it("while units are being queued: rejects them and takes them back once queued", async () => {
    const log: string[] = [];
    let queued!: () => void;
    const { queue, rows } = memoryQueue(log, new Promise((resolve) => (queued = resolve)));
    const { dispatcher, unit, warehouse } = await dispatcherFor(queue, async () => {});
    try {
      await dispatcher.start(1);
      const outcome = settled(dispatcher.dispatch(unit(1, "2024-01-01")));
      await new Promise((resolve) => setTimeout(resolve, 10));
      dispatcher.abandon(new Error("the lock was lost"));
      queued();
      expect(await outcome).toBe("rejected: the lock was lost");
      await new Promise((resolve) => setTimeout(resolve, 20));
      await dispatcher.stop();
      expect(rows.map((r) => r.status)).toEqual(["withdrawn"]);
    } finally {
      await warehouse.close();
    }
  });
});

describe("queueDispatcher.withdraw", () => {
  it("while units are being queued: takes back, once queued, those nobody claimed (their dispatch resolves undefined)", async () => {
    const log: string[] = [];
    let queued!: () => void;
    const { queue, rows } = memoryQueue(log, new Promise((resolve) => (queued = resolve)));
    const { dispatcher, unit, warehouse } = await dispatcherFor(queue, async () => {});
    try {
      await dispatcher.start(1);
      const outcome = settled(dispatcher.dispatch(unit(1, "2024-01-01")));
      await new Promise((resolve) => setTimeout(resolve, 10));
      await dispatcher.withdraw();
      queued();
      expect(await outcome).toBe("resolved undefined");
      await dispatcher.stop();
      expect(rows.map((r) => r.status)).toEqual(["withdrawn"]);
    } finally {
      await warehouse.close();
    }
  });
});
