import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { columnsOf, daily, dataset, source, type DatasetDeclaration, type PartitionVersionRef, type Warehouse } from "@reflow/core";
import { createPlan } from "@reflow/planner";
import { openStateStore, type BuiltTaskRecord, type PublishedTaskRecord, type StateWriter } from "@reflow/state";
import { SqliteWarehouse } from "@reflow/warehouse-sqlite";
import { executePlan, type EngineEvent, type ExecutableDataset, type UnitDispatcher } from "../src/index.js";
import { GroupCommit, type UnitCommit } from "../src/group-commit.js";

const days = daily({ start: "2024-01-01" });
const asOf = new Date("2024-01-05T00:00:00Z"); // 2024-01-01 … 2024-01-04
const row = z.object({ day: z.string(), n: z.number() });

function compiled(declaration: DatasetDeclaration): ExecutableDataset & { inputs: { alias: string; dataset: string; mapping: { kind: "identity" } }[] } {
  return {
    name: declaration.name,
    kind: declaration.kind,
    partitions: declaration.partitions,
    columns: columnsOf(declaration.schema, declaration.name),
    fingerprint: `${declaration.name}-1`,
    inputs: declaration.inputs.map((i) => ({ alias: i.alias, dataset: i.dataset, mapping: { kind: "identity" as const } })),
    declaration,
  };
}

describe("group commit in executePlan", () => {
  it("records, publishes and confirms finished tasks together, in that order, and starts a reader only after its input is confirmed", async () => {
    const log: string[] = [];
    const sales = source("sales", {
      partitions: days,
      schema: row,
      read: ({ partition }) => {
        log.push(`read sales ${partition.key}`);
        return [{ day: partition.key, n: Number(partition.key.slice(-2)) }];
      },
    });
    const doubled = dataset("doubled", {
      partitions: days,
      schema: row,
      inputs: { sales },
      transform: async ({ partition, inputs }) => {
        log.push(`transform doubled ${partition.key}`);
        return (await inputs.sales.rows()).map((r) => ({ day: r.day, n: r.n * 2 }));
      },
    });
    const datasets = new Map([sales, doubled].map((d) => [d.name, compiled(d)]));
    const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-group-commit-"));
    const store = (await openStateStore(path.join(dir, "state.db"), "write"))!;
    const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
    const writer = store.writer!;
    const state = new Proxy(writer, {
      get(target, property, receiver) {
        if (property === "tasksBuilt") return async (tasks: BuiltTaskRecord[]) => (log.push(`record ${tasks.map((t) => t.taskId)}`), target.tasksBuilt(tasks));
        if (property === "tasksSucceeded") return async (tasks: PublishedTaskRecord[]) => (await target.tasksSucceeded(tasks), log.push(`confirm ${tasks.map((t) => t.taskId)}`));
        if (property === "tasksSucceededAndBuilt") {
          return async (succeeded: PublishedTaskRecord[], built: BuiltTaskRecord[]) => (
            await target.tasksSucceededAndBuilt(succeeded, built), log.push(`confirm ${succeeded.map((t) => t.taskId)}, record ${built.map((t) => t.taskId)}`)
          );
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as StateWriter;
    const publishing = Object.create(warehouse) as Warehouse;
    publishing.publish = async (name: string, refs: readonly PartitionVersionRef[]) => {
      log.push(`publish ${name} ${refs.map((r) => r.version)}`);
      return warehouse.publish(name, refs);
    };
    try {
      const snapshot = await store.reader.snapshot();
      const plan = createPlan({ datasets, order: ["sales", "doubled"], state: snapshot, asOf });
      const result = await executePlan({ plan, datasets, snapshot, state, warehouse: publishing, concurrency: 2, command: "test", projectDir: dir });
      expect(result).toMatchObject({ status: "succeeded", succeeded: 8, rowsWritten: 8 });
      // The units running together (concurrency 2) commit as one group once neither is building; a unit keeps
      // its slot until published, and its confirmation shares the next group's record (one transaction), or
      // is alone when nothing is building; a reader starts only once its input is confirmed.
      expect(log).toEqual([
        "read sales 2024-01-01",
        "read sales 2024-01-02",
        "record 1,2",
        "publish sales 1,2",
        "read sales 2024-01-03",
        "read sales 2024-01-04",
        "confirm 1,2, record 3,4",
        "publish sales 3,4",
        "transform doubled 2024-01-01",
        "transform doubled 2024-01-02",
        "confirm 3,4, record 5,6",
        "publish doubled 5,6",
        "transform doubled 2024-01-03",
        "transform doubled 2024-01-04",
        "confirm 5,6, record 7,8",
        "publish doubled 7,8",
        "confirm 7,8",
      ]);
      expect([...(await warehouse.liveVersions("doubled"))]).toEqual([
        ["2024-01-01", 5],
        ["2024-01-02", 6],
        ["2024-01-03", 7],
        ["2024-01-04", 8],
      ]);
    } finally {
      await warehouse.close();
      await store.close();
    }
  });
});

describe("slots freed at publish", () => {
  it("start tasks in the order they did when slots were freed at confirmation (newest-first, concurrency 1)", async () => {
    const starts: string[] = [];
    const sales = source("sales", {
      partitions: days,
      schema: row,
      read: ({ partition }) => (starts.push(`sales ${partition.key}`), [{ day: partition.key, n: 1 }]),
    });
    const doubled = dataset("doubled", {
      partitions: days,
      schema: row,
      inputs: { sales },
      transform: async ({ partition, inputs }) => (starts.push(`doubled ${partition.key}`), (await inputs.sales.rows()).map((r) => ({ day: r.day, n: r.n * 2 }))),
    });
    const datasets = new Map([sales, doubled].map((d) => [d.name, compiled(d)]));
    const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-group-commit-"));
    const store = (await openStateStore(path.join(dir, "state.db"), "write"))!;
    const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
    try {
      const snapshot = await store.reader.snapshot();
      const plan = createPlan({ datasets, order: ["sales", "doubled"], state: snapshot, asOf });
      const result = await executePlan({ plan, datasets, snapshot, state: store.writer!, warehouse, concurrency: 1, order: "newest-first", command: "test", projectDir: dir });
      expect(result).toMatchObject({ status: "succeeded", succeeded: 8 });
      // A reader made ready by a confirmation goes before the older sources ready meanwhile.
      expect(starts).toEqual(["04", "03", "02", "01"].flatMap((day) => [`sales 2024-01-${day}`, `doubled 2024-01-${day}`]));
    } finally {
      await warehouse.close();
      await store.close();
    }
  });
});

/** A unit of one task whose version is `version` of dataset `dataset`. */
const unit = (dataset: string, version: number): UnitCommit => ({
  dataset,
  built: [{ taskId: version, result: { inputs: {}, rowCount: 1, contentHash: "1-aa" } }],
  refs: [{ partition: `p${version}`, version }],
  published: [{ taskId: version, dataset, partition: `p${version}` }],
});

function fakes(options: { failPublishOf?: number; failCombined?: boolean } = {}) {
  const log: string[] = [];
  const state = {
    tasksBuilt: async (tasks: readonly BuiltTaskRecord[]) => void log.push(`record ${tasks.map((t) => t.taskId)}`),
    tasksSucceeded: async (tasks: readonly PublishedTaskRecord[]) => void log.push(`confirm ${tasks.map((t) => t.taskId)}`),
    tasksSucceededAndBuilt: async (succeeded: readonly PublishedTaskRecord[], built: readonly BuiltTaskRecord[]) => {
      if (options.failCombined) throw new Error("the shared transaction failed");
      log.push(`confirm ${succeeded.map((t) => t.taskId)}, record ${built.map((t) => t.taskId)}`);
    },
  } as unknown as StateWriter;
  const warehouse = {
    publish: async (dataset: string, refs: readonly PartitionVersionRef[]) => {
      if (refs.some((r) => r.version === options.failPublishOf)) throw new Error(`no version ${options.failPublishOf}`);
      log.push(`publish ${dataset} ${refs.map((r) => r.version)}`);
    },
  } as unknown as Warehouse;
  return { log, state, warehouse };
}

describe("an error no task owns (the writer lock was lost)", () => {
  it("stops starting units and rejects only once the units under way have finished: none writes or publishes after executePlan returns", async () => {
    const log: string[] = [];
    let lockLost = false;
    let secondStarted!: () => void;
    const started = new Promise<void>((resolve) => (secondStarted = resolve));
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const sales = source("sales", {
      partitions: days,
      schema: row,
      read: async ({ partition }) => {
        log.push(`read ${partition.key}`);
        // 2024-01-01 ends once 2024-01-02 reads, which it does until the test opens the gate; meanwhile
        // the lease ran out and another host took the lock over.
        if (partition.key === "2024-01-01") await started;
        if (partition.key === "2024-01-02") {
          lockLost = true;
          secondStarted();
          await gate;
        }
        return [{ day: partition.key, n: 1 }];
      },
    });
    const datasets = new Map([sales].map((d) => [d.name, compiled(d)]));
    const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-group-commit-"));
    const store = (await openStateStore(path.join(dir, "state.db"), "write"))!;
    const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
    const lost = new Error("the lock was lost");
    const writes = ["tasksBuilt", "tasksSucceeded", "tasksSucceededAndBuilt", "taskFailed", "tasksBlocked", "tasksInterrupted", "finishRun"];
    const state = new Proxy(store.writer!, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== "function") return value;
        if (!writes.includes(String(property))) return value.bind(target);
        return async (...args: unknown[]) => {
          log.push(`${String(property)}${lockLost ? " refused" : ""}`);
          if (lockLost) throw lost;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as StateWriter;
    const publishing = Object.create(warehouse) as Warehouse;
    publishing.publish = async (name: string, refs: readonly PartitionVersionRef[]) => {
      log.push(`publish ${refs.map((r) => r.version)}`);
      return warehouse.publish(name, refs);
    };
    try {
      const snapshot = await store.reader.snapshot();
      const plan = createPlan({ datasets, order: ["sales"], state: snapshot, asOf });
      let settled = false;
      const running = executePlan({
        plan,
        datasets,
        snapshot,
        state,
        warehouse: publishing,
        concurrency: 2,
        command: "test",
        projectDir: dir,
        onEvent: (event) => void (event.type === "run-stopping" && log.push(`stopping after "${(event.error as Error).message}", ${event.underWay} under way`)),
      }).finally(() => (settled = true));
      const refused = ["tasksBuilt refused", "taskFailed refused"];
      const stopping = 'stopping after "the lock was lost", 1 under way';
      while (log.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // 2024-01-01's record was refused, and so was recording its failure: the run stops. 2024-01-02 still
      // reads: the run waits for it, and starts nothing more (2024-01-03 had a free slot).
      expect(settled).toBe(false);
      expect(log).toEqual(["read 2024-01-01", "read 2024-01-02", ...refused, stopping]);
      openGate();
      await expect(running).rejects.toBe(lost);
      const atReturn = log.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(log).toEqual(["read 2024-01-01", "read 2024-01-02", ...refused, stopping, ...refused]);
      expect(log.length).toBe(atReturn);
      expect([...(await warehouse.liveVersions("sales"))]).toEqual([]);
    } finally {
      await warehouse.close();
      await store.close();
    }
  });
});

/** Two days of a source, planned on a new state and warehouse: a run whose units a test's dispatcher handles. */
async function twoDaysToDispatch() {
  const sales = source("sales", { partitions: days, schema: row, read: () => [] });
  const datasets = new Map([sales].map((d) => [d.name, compiled(d)]));
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-group-commit-"));
  const store = (await openStateStore(path.join(dir, "state.db"), "write"))!;
  const warehouse = new SqliteWarehouse({ path: path.join(dir, "warehouse.db") });
  const snapshot = await store.reader.snapshot();
  const plan = createPlan({ datasets, order: ["sales"], state: snapshot, asOf: new Date("2024-01-03T00:00:00Z") });
  return { datasets, dir, store, warehouse, snapshot, plan };
}

describe("an error no task owns, in a distributed run", () => {
  it("gives up the units claimers hold (one may never report) instead of waiting for them, and rejects with that error", async () => {
    const log: string[] = [];
    const { datasets, dir, store, warehouse, snapshot, plan } = await twoDaysToDispatch();
    const lost = new Error("the lock was lost");
    const writer = store.writer!;
    // The lock is lost once the units are dispatched: recording 2024-01-01's failure is refused.
    const state = Object.create(writer) as StateWriter;
    state.taskFailed = async () => {
      log.push("taskFailed refused");
      throw lost;
    };
    const pending: ((error: unknown) => void)[] = [];
    const distribute: UnitDispatcher = {
      start: async () => {},
      dispatch: (unit) => {
        const partition = unit.builds[0]!.partition;
        log.push(`dispatch ${partition}`);
        if (partition === "2024-01-01") return Promise.resolve({ status: "failed", errors: ["boom"], attempts: 1, failedAttempts: [] });
        // Claimed on another machine, whose report will never come (its row was cleared by the lock's new holder).
        return new Promise((_, reject) => pending.push(reject));
      },
      withdraw: async () => void log.push("withdraw"),
      abandon: (error) => {
        log.push("abandon");
        for (const reject of pending.splice(0)) reject(error);
      },
      stop: async () => void log.push("stop"),
    };
    try {
      const onEvent = (event: EngineEvent) => void (event.type === "run-stopping" && log.push(`stopping, ${event.underWay} under way`));
      await expect(executePlan({ plan, datasets, snapshot, state, warehouse, concurrency: 2, command: "test", projectDir: dir, distribute, onEvent })).rejects.toBe(lost);
      // Nothing is waited for: no run-stopping event.
      expect(log).toEqual(["dispatch 2024-01-01", "dispatch 2024-01-02", "taskFailed refused", "abandon", "stop"]);
    } finally {
      await warehouse.close();
      await store.close();
    }
  });
});

describe("a withdraw that fails when a distributed run is stopped (Ctrl-C)", () => {
  it("stops the run as an error no task owns would: the units claimers hold are given up, and the run rejects with that error", async () => {
    const log: string[] = [];
    const { datasets, dir, store, warehouse, snapshot, plan } = await twoDaysToDispatch();
    const unreachable = new Error("the state does not answer");
    const controller = new AbortController();
    const pending: ((error: unknown) => void)[] = [];
    const distribute: UnitDispatcher = {
      start: async () => {},
      dispatch: (unit) => {
        log.push(`dispatch ${unit.builds[0]!.partition}`);
        if (pending.length === 1) setImmediate(() => controller.abort());
        return new Promise((_, reject) => pending.push(reject));
      },
      withdraw: async () => {
        log.push("withdraw");
        throw unreachable;
      },
      abandon: (error) => {
        log.push(`abandon: ${(error as Error).message}`);
        for (const reject of pending.splice(0)) reject(error);
      },
      stop: async () => void log.push("stop"),
    };
    try {
      await expect(
        executePlan({ plan, datasets, snapshot, state: store.writer!, warehouse, concurrency: 2, command: "test", projectDir: dir, distribute, signal: controller.signal }),
      ).rejects.toBe(unreachable);
      expect(log).toEqual(["dispatch 2024-01-01", "dispatch 2024-01-02", "withdraw", "abandon: the state does not answer", "stop"]);
    } finally {
      await warehouse.close();
      await store.close();
    }
  });
});

describe("GroupCommit", () => {
  it("commits when the group is full, without waiting for the scheduler; the next group's record confirms it", async () => {
    const { log, state, warehouse } = fakes();
    let idle = false;
    const commits = new GroupCommit({ state, warehouse, idle: () => idle, maxTasks: 3, maxDelayMs: 60_000 });
    const published: number[] = [];
    const submit = (dataset: string, version: number) => commits.submit(unit(dataset, version), () => published.push(version));
    const first = Promise.all([submit("a", 1), submit("b", 2), submit("a", 3)]);
    await until(() => published.length === 3);
    expect(log).toEqual(["record 1,2,3", "publish a 1,3", "publish b 2"]);
    const second = Promise.all([submit("a", 4), submit("a", 5), submit("a", 6)]);
    await first;
    await until(() => published.length === 6);
    expect(log).toEqual(["record 1,2,3", "publish a 1,3", "publish b 2", "confirm 1,2,3, record 4,5,6", "publish a 4,5,6"]);
    // Nothing building any more: confirmed alone, at once.
    idle = true;
    commits.poke();
    await second;
    expect(log.at(-1)).toBe("confirm 4,5,6");
    // Told in the order they finished, whatever the dataset.
    expect(published).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("confirms and records apart when their shared transaction fails", async () => {
    const { log, state, warehouse } = fakes({ failCombined: true });
    let idle = false;
    const commits = new GroupCommit({ state, warehouse, idle: () => idle, maxTasks: 1, maxDelayMs: 60_000 });
    const published: number[] = [];
    const first = commits.submit(unit("a", 1), () => published.push(1));
    await until(() => published.length === 1);
    const second = commits.submit(unit("a", 2), () => published.push(2));
    await first;
    await until(() => published.length === 2);
    idle = true;
    commits.poke();
    await second;
    expect(log).toEqual(["record 1", "publish a 1", "confirm 1", "record 2", "publish a 2", "confirm 2"]);
  });

  it("commits a group that is not full after maxDelayMs", async () => {
    const { log, state, warehouse } = fakes();
    const commits = new GroupCommit({ state, warehouse, idle: () => false, maxTasks: 100, maxDelayMs: 5 });
    const started = performance.now();
    await commits.submit(unit("a", 1));
    expect(performance.now() - started).toBeGreaterThanOrEqual(4);
    expect(log).toEqual(["record 1", "publish a 1", "confirm 1"]);
  });

  it("a publish that fails fails only its own unit: the others of its dataset are published alone and confirmed", async () => {
    const { log, state, warehouse } = fakes({ failPublishOf: 2 });
    const commits = new GroupCommit({ state, warehouse, idle: () => false, maxTasks: 3 });
    const outcomes = await Promise.allSettled([commits.submit(unit("a", 1)), commits.submit(unit("a", 2)), commits.submit(unit("a", 3))]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? "ok" : (o.reason as Error).message))).toEqual(["ok", "no version 2", "ok"]);
    expect(log).toEqual(["record 1,2,3", "publish a 1", "publish a 3", "confirm 1,3"]);
  });
});

/** Waits (a turn at a time) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 1_000) throw new Error("the condition never held");
    await new Promise((resolve) => setImmediate(resolve));
  }
}
