import { mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { csvSource, daily, jsonLinesSource, multi, partitionInfo, staticPartitions, type DatasetDeclaration } from "../src/index.js";

const projectDir = mkdtempSync(path.join(tmpdir(), "reflow-files-"));
afterAll(() => rmSync(projectDir, { recursive: true, force: true }));
function write(relative: string, content: string): void {
  mkdirSync(path.dirname(path.join(projectDir, relative)), { recursive: true });
  writeFileSync(path.join(projectDir, relative), content);
}

const days = daily({ start: "2024-01-01" });
const schema = z.object({ user_id: z.string(), amount: z.number().int() });

async function readAll(source: DatasetDeclaration, key: string): Promise<unknown[]> {
  const rows: unknown[] = [];
  const output = (await source.run({ partition: partitionInfo(source.partitions, key), inputs: {}, projectDir })) as AsyncIterable<unknown>;
  for await (const row of output) rows.push(row);
  return rows;
}

describe("jsonLinesSource", () => {
  const events = jsonLinesSource("events", { partitions: days, schema, path: "data/events/{date}.jsonl" });

  it("streams one file per partition, relative to the project directory, skipping blank lines", async () => {
    write("data/events/2024-01-02.jsonl", '{"user_id":"a","amount":1}\n\n{"user_id":"b","amount":2}\n');
    expect(await readAll(events, "2024-01-02")).toEqual([
      { user_id: "a", amount: 1 },
      { user_id: "b", amount: 2 },
    ]);
    expect(events.kind).toBe("source");
    expect(events.runProperty).toBe("path");
  });

  it("versions a partition by its file's size and mtime, without reading it; a missing file has version none", async () => {
    write("data/events/2024-01-03.jsonl", '{"user_id":"a","amount":1}\n');
    utimesSync(path.join(projectDir, "data/events/2024-01-03.jsonl"), 1_700_000_000, 1_700_000_000);
    const version = (key: string) => events.sourceVersion!({ partition: partitionInfo(days, key), projectDir });
    expect(await version("2024-01-03")).toBe("2024-01-03.jsonl:27:1700000000000");
    expect(await version("2024-01-09")).toBe("none");
  });

  it("names file and line of a row that breaks the schema, and of a line that is not JSON", async () => {
    write("data/events/2024-01-04.jsonl", '{"user_id":"a","amount":1}\n{"user_id":"b","amount":"2"}\n');
    await expect(readAll(events, "2024-01-04")).rejects.toThrow('data/events/2024-01-04.jsonl:2: field "amount": Invalid input: expected number, received string');
    write("data/events/2024-01-05.jsonl", '{"user_id":"a","amount":1}\n{"user_id":\n');
    await expect(readAll(events, "2024-01-05")).rejects.toMatchObject({ code: "REFLOW_SOURCE_FILE_INVALID", message: expect.stringMatching(/^data\/events\/2024-01-05\.jsonl:2: not a JSON value: /) });
  });

  it("fails a partition with no file naming the path, or reads it as empty when told", async () => {
    await expect(readAll(events, "2024-01-09")).rejects.toMatchObject({
      code: "REFLOW_SOURCE_FILE_MISSING",
      message: expect.stringMatching(/^no file data\/events\/2024-01-09\.jsonl \(jsonLinesSource "events" at \S*file-sources\.test\.ts:\d+:\d+; declare missing: "empty" to read a missing file as no rows\)$/),
    });
    const lenient = jsonLinesSource("events", { partitions: days, schema, path: "data/events/{date}.jsonl", missing: "empty" });
    expect(await readAll(lenient, "2024-01-09")).toEqual([]);
  });

  it("fills multi placeholders, and reads every file a * matches in name order", async () => {
    write("data/eu/2024-01-02-b.jsonl", '{"user_id":"b","amount":2}\n');
    write("data/eu/2024-01-02-a.jsonl", '{"user_id":"a","amount":1}\n');
    write("data/us/2024-01-02-a.jsonl", '{"user_id":"u","amount":9}\n');
    const regional = jsonLinesSource("regional", { partitions: multi({ date: days, region: staticPartitions(["eu", "us"]) }), schema, path: "data/{region}/{date}-*.jsonl" });
    expect(await readAll(regional, "2024-01-02|eu")).toEqual([
      { user_id: "a", amount: 1 },
      { user_id: "b", amount: 2 },
    ]);
  });

  it("rejects placeholders the partitions do not have, naming the line", () => {
    expect(() => jsonLinesSource("events", { partitions: days, schema, path: "data/{region}/{date}.jsonl" })).toThrow(
      /file-sources\.test\.ts:\d+:\d+: jsonLinesSource\("events"\): path has no placeholder \{region\} for these partitions \(use \{key\}, \{date\}\)/,
    );
    expect(() => jsonLinesSource("events", { partitions: days, schema, path: "data/*/{date}.jsonl" })).toThrow('path can have * only in the file name, got "data/*/{date}.jsonl"');
  });
});

describe("csvSource", () => {
  const orders = csvSource("orders", {
    partitions: days,
    schema: z.object({ id: z.string(), amount: z.number(), paid: z.boolean(), note: z.string().nullable(), coupon: z.number().nullable() }),
    path: "data/orders/{date}.csv",
  });

  it("reads a header row and converts fields to the schema's column types", async () => {
    write("data/orders/2024-01-02.csv", 'id,amount,paid,note,coupon\n1,9.5,true,"a, quoted note",\n2,3,false,,5\n');
    expect(await readAll(orders, "2024-01-02")).toEqual([
      { id: "1", amount: 9.5, paid: true, note: "a, quoted note", coupon: null },
      { id: "2", amount: 3, paid: false, note: "", coupon: 5 },
    ]);
  });

  it("names file and line of a bad field and of malformed CSV", async () => {
    write("data/orders/2024-01-03.csv", "id,amount,paid,note,coupon\n1,9.5,true,,\n2,lots,true,,\n");
    await expect(readAll(orders, "2024-01-03")).rejects.toThrow('data/orders/2024-01-03.csv:3: field "amount": Invalid input: expected number, received string');
    write("data/orders/2024-01-04.csv", "id,amount,paid,note,coupon\n1,9.5,true,,,extra\n");
    await expect(readAll(orders, "2024-01-04")).rejects.toMatchObject({ code: "REFLOW_SOURCE_FILE_INVALID", message: expect.stringMatching(/^data\/orders\/2024-01-04\.csv:2: not valid CSV: /) });
  });
});
