import { describe, expect, it } from "vitest";
import { environmentHashes, undeclaredEnvReads } from "../src/dataset-environment.js";
import { fingerprintChanges, type FingerprintManifest } from "../src/fingerprint-manifest.js";

describe("environmentHashes", () => {
  it("hashes each value, tells unset from empty, and never contains the value", () => {
    const hashes = environmentHashes(["TAX_RATE", "EMPTY", "UNSET"], { TAX_RATE: "0.2", EMPTY: "" });
    expect(hashes.UNSET).toBeNull();
    expect(hashes.EMPTY).toMatch(/^[0-9a-f]{16}$/);
    expect(hashes.TAX_RATE).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(hashes)).not.toContain("0.2");
    expect(environmentHashes(["TAX_RATE"], { TAX_RATE: "0.25" }).TAX_RATE).not.toBe(hashes.TAX_RATE);
    expect(environmentHashes(["TAX_RATE"], { TAX_RATE: "0.2" }).TAX_RATE).toBe(hashes.TAX_RATE);
    // Salted by name: two variables with one value do not show as equal.
    const same = environmentHashes(["A", "B"], { A: "x", B: "x" });
    expect(same.A).not.toBe(same.B);
  });
});

describe("undeclaredEnvReads", () => {
  const reads = [
    { file: "pipelines/x.ts", line: 12, name: "TAX_RATE" },
    { file: "pipelines/x.ts", line: 13, name: "REGION" },
    { file: "pipelines/lib/keys.ts", line: 2, name: "*" },
  ];

  it("warns about each read dependsOnEnv does not cover, with file, line and dataset", () => {
    expect(undeclaredEnvReads({ name: "daily_revenue", dependsOnEnv: [], ignoreEnv: ["REGION"] }, reads, "/p").map((w) => [w.code, w.message, w.location, w.subject])).toEqual([
      [
        "REFLOW_UNDECLARED_ENV",
        "pipelines/x.ts:12: daily_revenue reads process.env.TAX_RATE, which is not in dependsOnEnv; changing it will not be detected",
        { file: "/p/pipelines/x.ts", line: 12 },
        "daily_revenue",
      ],
      [
        "REFLOW_UNDECLARED_ENV",
        "pipelines/lib/keys.ts:2: daily_revenue reads process.env with a name computed at run time, which dependsOnEnv cannot name; changing it will not be detected",
        { file: "/p/pipelines/lib/keys.ts", line: 2 },
        "daily_revenue",
      ],
    ]);
  });

  it("says nothing when every read is declared or ignored", () => {
    expect(undeclaredEnvReads({ name: "d", dependsOnEnv: ["TAX_RATE"], ignoreEnv: ["REGION"] }, reads.slice(0, 2), "/p")).toEqual([]);
  });
});

describe("fingerprintChanges of dependsOnEnv", () => {
  const base: FingerprintManifest = { code: "c", declarations: [], packages: [], version: 0, schema: "{}", partitions: "{}", inputs: "[]" };

  it("names the variables that changed, never their values", () => {
    const before = { ...base, env: { TAX_RATE: "aaaa", REGION: null, OLD: "cccc" } };
    const after = { ...base, env: { TAX_RATE: "bbbb", REGION: "dddd", NEW: null } };
    expect(fingerprintChanges(before, after).map((c) => c.what)).toEqual([
      "environment variable TAX_RATE changed",
      "environment variable REGION changed (set now)",
      "environment variable NEW is in dependsOnEnv now",
      "environment variable OLD is no longer in dependsOnEnv",
    ]);
    expect(fingerprintChanges(after, { ...after, env: { ...after.env, TAX_RATE: null } }).map((c) => c.what)).toEqual(["environment variable TAX_RATE changed (unset now)"]);
    expect(fingerprintChanges(base, base)).toEqual([]);
  });
});
