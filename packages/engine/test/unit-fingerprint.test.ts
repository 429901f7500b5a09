import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "@reflow/core";
import { codeFingerprintOf, unitFingerprint, type ExecutableDataset } from "../src/index.js";

const column = (name: string): ColumnSpec => ({ name, type: "integer", nullable: false, optional: false });
const dataset = (name: string, fingerprint: string, columns: ColumnSpec[], inputs: string[] = []) =>
  ({ name, fingerprint, columns, inputs: inputs.map((input, i) => ({ alias: `in${i}`, dataset: input })) }) as unknown as ExecutableDataset;
const project = (...all: ExecutableDataset[]) => new Map(all.map((d) => [d.name, d]));

describe("unitFingerprint: what a worker's code must share with the apply's to build a unit", () => {
  const events = dataset("events", "e".repeat(64), [column("n")]);
  const totals = dataset("totals", "t".repeat(64), [column("sum")], ["events"]);

  it("is the dataset's fingerprint for a dataset that reads nothing", () => {
    expect(unitFingerprint(events, project(events, totals))).toBe("e".repeat(64));
  });

  it("adds a digest of the inputs' columns for a reader, and still starts with its own fingerprint", () => {
    const fingerprint = unitFingerprint(totals, project(events, totals));
    expect(fingerprint).toMatch(new RegExp(`^${"t".repeat(64)}\\+[0-9a-f]{16}$`));
    expect(codeFingerprintOf(fingerprint)).toBe("t".repeat(64));
  });

  it("differs when an input's columns differ, not when only the input's code does", () => {
    const base = unitFingerprint(totals, project(events, totals));
    expect(unitFingerprint(totals, project(dataset("events", "e".repeat(64), [column("n"), column("extra")]), totals))).not.toBe(base);
    expect(unitFingerprint(totals, project(dataset("events", "f".repeat(64), [column("n")]), totals))).toBe(base);
  });

  it("does not depend on the order or repetition of the inputs", () => {
    const users = dataset("users", "u".repeat(64), [column("id")]);
    const a = dataset("joined", "j".repeat(64), [column("x")], ["events", "users", "events"]);
    const b = dataset("joined", "j".repeat(64), [column("x")], ["users", "events"]);
    expect(unitFingerprint(a, project(events, users, a))).toBe(unitFingerprint(b, project(events, users, b)));
  });
});
