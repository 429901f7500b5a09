import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { postgresUnavailable } from "./support/postgres-server.js";
import { REPO_ROOT } from "./support/temp-project.js";

// sql-transform-postgres needs the test server; without one it is skipped (saying so) and writes nothing.
const SCENARIOS = ["plan-warm", "plan-cold", "apply-overhead", "transform-throughput", "big-partition-memory", "sql-transform", "state-size"].concat(
  (await postgresUnavailable()) ? [] : ["sql-transform-postgres"],
);
const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-bench-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A smoke test that the harness works end to end: never a timed assertion.
test("npm run bench -- --quick runs every scenario and writes their results", () => {
  const out = path.join(dir, "results.json");
  const run = spawnSync(process.execPath, ["--import", "tsx", "bench/run-bench.ts", "--quick", "--out", out], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 240_000,
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const results = JSON.parse(readFileSync(out, "utf8")) as { scale: { name: string }; scenarios: Record<string, { median: number; runs: number[] }> };
  expect(results.scale.name).toBe("quick");
  expect(Object.keys(results.scenarios).sort()).toEqual([...SCENARIOS].sort());
  for (const name of SCENARIOS) {
    const scenario = results.scenarios[name]!;
    expect(scenario.runs.length, name).toBeGreaterThan(0);
    expect(Number.isFinite(scenario.median) && scenario.median > 0, name).toBe(true);
  }
  for (const name of SCENARIOS) expect(run.stdout).toContain(name);
}, 250_000);
