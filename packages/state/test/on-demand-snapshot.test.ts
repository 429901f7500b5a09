import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStateStore, type PartitionState } from "../src/index.js";

const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-")), "state.db");
const asOf = new Date("2024-01-06T00:00:00Z");

/** The fields of a partition state, as plain data (on-demand ones read some lazily). */
const FIELDS = ["status", "liveVersion", "fingerprint", "inputs", "rowCount", "contentHash", "sourceVersion", "incomplete", "liveRun", "acceptedFingerprint", "rollback"] as const;
const plain = (p: PartitionState | undefined) => p && Object.fromEntries(FIELDS.filter((f) => p[f] !== undefined).map((f) => [f, p[f]]));
const plainAll = (m: ReadonlyMap<string, PartitionState> | undefined) => m && new Map([...m].map(([k, p]) => [k, plain(p)]));

describe("on-demand snapshot", () => {
  it("reads what the whole snapshot reads, summarises each dataset, and refuses reads after close", async () => {
    const store = (await openStateStore(tempFile(), "write"))!;
    const writer = store.writer!;
    const first = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
      { dataset: "daily", partition: "2024-01-01", reason: "missing", fingerprint: "d1" },
      { dataset: "daily", partition: "2024-01-02", reason: "missing", fingerprint: "d1" },
    ]);
    const [e1, e2, d1, d2] = first.taskIds as [number, number, number, number];
    await writer.taskBuilt(e1, { inputs: {}, rowCount: 3, contentHash: "h1" });
    await writer.taskSucceeded(e1, "events", "2024-01-01");
    await writer.taskBuilt(e2, { inputs: {}, rowCount: 2, contentHash: "h2" });
    await writer.taskSucceeded(e2, "events", "2024-01-02");
    await writer.taskBuilt(d1, { inputs: { events: { "2024-01-01": e1 } }, rowCount: 1, contentHash: "h3" });
    await writer.taskSucceeded(d1, "daily", "2024-01-01");
    await writer.taskFailed(d2, "daily", "2024-01-02", "boom");
    await writer.finishRun(first.runId, "failed", [
      { name: "events", kind: "source", fingerprint: "e1" },
      { name: "daily", kind: "dataset", fingerprint: "d1" },
    ]);

    const whole = await store.reader.snapshot();
    for (const deferDetails of [false, true]) {
      const onDemand = await store.reader.snapshot({ onDemand: true, deferDetails });
      expect(onDemand.datasets).toEqual(whole.datasets);
      expect([...onDemand.partitions.keys()].sort()).toEqual(["daily", "events"]);
      for (const name of ["events", "daily"]) expect(plainAll(onDemand.partitions.get(name))).toEqual(whole.partitions.get(name));
      expect(onDemand.partitions.get("nothing")).toBeUndefined();
    }
    const onDemand = await store.reader.snapshot({ onDemand: true });
    expect(onDemand.summaries!.get("events")).toEqual({
      partitions: 2,
      clean: 2,
      firstKey: "2024-01-01",
      lastKey: "2024-01-02",
      fingerprint: "e1",
      oldestChecked: e1,
      newestLive: e2,
      rollbacks: 0,
    });
    // The failed partition is not clean and has no live version.
    expect(onDemand.summaries!.get("daily")).toEqual({
      partitions: 2,
      clean: 1,
      firstKey: "2024-01-01",
      lastKey: "2024-01-02",
      fingerprint: "d1",
      oldestChecked: d1,
      newestLive: d1,
      rollbacks: 0,
    });
    expect(onDemand.summaries!.get("nothing")).toBeUndefined();
    // The live keys, read alone, then from the source versions or the partitions read already: the failed partition is not live.
    for (const snapshot of [onDemand, await store.reader.snapshot({ onDemand: true }), await store.reader.snapshot({ onDemand: true })]) {
      if (snapshot !== onDemand) snapshot.liveSourceVersions!("daily");
      expect([...snapshot.liveKeys!("daily")]).toEqual(["2024-01-01"]);
      expect([...snapshot.liveKeys!("events")]).toEqual(["2024-01-01", "2024-01-02"]);
      expect([...snapshot.liveKeys!("nothing")]).toEqual([]);
    }
    const read = await store.reader.snapshot({ onDemand: true });
    read.partitions.get("daily");
    expect([...read.liveKeys!("daily")]).toEqual(["2024-01-01"]);

    await store.close();
    expect(() => onDemand.partitions.get("events")).toThrow("internal error: the state snapshot read the partitions of events after the state store was closed");
  });

  it("has no datasets and no summaries on a state without partitions", async () => {
    const store = (await openStateStore(tempFile(), "write"))!;
    const onDemand = await store.reader.snapshot({ onDemand: true });
    expect(onDemand.partitions.size).toBe(0);
    expect([...onDemand.partitions.keys()]).toEqual([]);
    expect(onDemand.summaries!.get("events")).toBeUndefined();
    await store.close();
  });
});
