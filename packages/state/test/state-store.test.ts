import { existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openStateStore } from "../src/index.js";

const tempFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), "reflow-state-")), "state.db");
const asOf = new Date("2024-01-06T00:00:00Z");

describe("state store", () => {
  it("reads a missing state file as absent without creating it", async () => {
    const file = tempFile();
    expect(await openStateStore(file, "read")).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  });

  it("records runs and tasks and returns them as a snapshot", async () => {
    const file = tempFile();
    const store = (await openStateStore(file, "write"))!;
    const writer = store.writer!;
    const { runId, taskIds } = await writer.beginRun("apply", asOf, [
      { dataset: "events", partition: "2024-01-01", reason: "missing", fingerprint: "e1" },
      { dataset: "events", partition: "2024-01-02", reason: "missing", fingerprint: "e1" },
      { dataset: "daily", partition: "2024-01-01", reason: "missing", fingerprint: "d1" },
    ]);
    expect(runId).toBe(1);
    expect(taskIds).toEqual([1, 2, 3]);
    await writer.taskSucceeded(1, "events", "2024-01-01", { inputs: {}, rowCount: 3, contentHash: "h1" });
    await writer.taskFailed(2, "events", "2024-01-02", "boom");
    await writer.taskSucceeded(3, "daily", "2024-01-01", { inputs: { events: { "2024-01-01": 1 } }, rowCount: 1, contentHash: "h2" });
    await writer.finishRun(runId, "failed", [{ name: "daily", kind: "dataset", fingerprint: "d1" }]);

    const snapshot = await store.reader.snapshot();
    expect(snapshot.datasets).toEqual(new Map([["daily", { name: "daily", kind: "dataset", fingerprint: "d1" }]]));
    expect(snapshot.partitions).toEqual(
      new Map([
        [
          "events",
          new Map([
            ["2024-01-01", { status: "built", liveVersion: 1, fingerprint: "e1", inputs: {} }],
            ["2024-01-02", { status: "failed", liveVersion: null, fingerprint: null, inputs: {} }],
          ]),
        ],
        ["daily", new Map([["2024-01-01", { status: "built", liveVersion: 3, fingerprint: "d1", inputs: { events: { "2024-01-01": 1 } } }]])],
      ]),
    );

    // A later failure keeps the partition's live version.
    const second = await writer.beginRun("apply", asOf, [{ dataset: "events", partition: "2024-01-01", reason: "code-changed", fingerprint: "e2" }]);
    await writer.taskFailed(second.taskIds[0]!, "events", "2024-01-01", "boom again");
    await writer.finishRun(second.runId, "failed", []);
    const after = await store.reader.snapshot();
    expect(after.partitions.get("events")!.get("2024-01-01")).toEqual({ status: "failed", liveVersion: 1, fingerprint: "e1", inputs: {} });

    const status = await store.reader.datasetStatus();
    expect(status.get("events")).toMatchObject({
      built: 0,
      failed: 2,
      failures: [
        { partition: "2024-01-01", error: "boom again" },
        { partition: "2024-01-02", error: "boom" },
      ],
      lastRun: { id: 2, status: "failed", command: "apply" },
    });
    await store.close();
  });

  it("refuses a state file written by a newer reflow", async () => {
    const file = tempFile();
    await (await openStateStore(file, "write"))!.close();
    const raw = new Database(file);
    raw.prepare("insert into kysely_migration (name, timestamp) values ('9999-future', 'x')").run();
    raw.close();
    await expect(openStateStore(file, "read")).rejects.toMatchObject({
      code: "REFLOW_STATE_INCOMPATIBLE",
      message: expect.stringContaining("was written by a newer reflow (migration 9999-future)"),
    });
  });
});
