import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isReflowError } from "@reflow/core";
import { loadProjectConfig } from "../src/index.js";

function projectWith(yaml?: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-config-"));
  if (yaml !== undefined) writeFileSync(path.join(dir, "reflow.yaml"), yaml);
  return dir;
}

function errorOf(dir: string) {
  try {
    loadProjectConfig(dir);
  } catch (error) {
    if (isReflowError(error)) return { code: error.code, message: error.message.replace(`${dir}/`, "") };
    throw error;
  }
  throw new Error("expected an error");
}

describe("loadProjectConfig", () => {
  it("uses the defaults without a reflow.yaml", () => {
    const dir = projectWith();
    expect(loadProjectConfig(dir)).toEqual({
      projectDir: dir,
      pipelines: ["pipelines/**/*.ts"],
      state: { type: "sqlite", path: path.join(dir, ".reflow/state.db") },
      warehouse: { type: "sqlite", path: path.join(dir, ".reflow/warehouse.db") },
      concurrency: 4,
      pools: {},
      retries: { attempts: 1, backoff: "exponential", initialDelayMs: 500, maxDelayMs: 60_000 },
      retainVersions: 3,
    });
  });

  it("reads every key and resolves paths against the project", () => {
    const dir = projectWith(`pipelines: ["flows/*.ts"]\nstate: data/s.db\nwarehouse: { type: sqlite, path: data/w.db }\nconcurrency: 2\nretainVersions: 5\n`);
    expect(loadProjectConfig(dir)).toMatchObject({
      pipelines: ["flows/*.ts"],
      state: { type: "sqlite", path: path.join(dir, "data/s.db") },
      warehouse: { type: "sqlite", path: path.join(dir, "data/w.db") },
      concurrency: 2,
      retainVersions: 5,
    });
  });

  it("names an unknown key with its path and line", () => {
    expect(errorOf(projectWith(`concurrency: 2\nwarehouse:\n  type: sqlite\n  pth: x.db\n`))).toEqual({
      code: "REFLOW_CONFIG_INVALID",
      message: "reflow.yaml:4:3: warehouse.pth: unknown key",
    });
  });

  it("names a key with a wrong type", () => {
    expect(errorOf(projectWith(`pipelines: ["p/*.ts"]\nconcurrency: "four"\n`))).toEqual({
      code: "REFLOW_CONFIG_INVALID",
      message: "reflow.yaml:2:14: concurrency: Invalid input: expected number, received string",
    });
  });

  it("names an unsupported warehouse type", () => {
    expect(errorOf(projectWith(`warehouse: { type: oracle }\n`)).message).toMatch(/^reflow\.yaml:1:20: warehouse\.type: /);
  });

  it("reports broken YAML with its position", () => {
    expect(errorOf(projectWith(`concurrency: [1\n`))).toMatchObject({ code: "REFLOW_CONFIG_INVALID" });
    expect(errorOf(projectWith(`concurrency: [1\n`)).message).toMatch(/^reflow\.yaml:\d+:\d+: invalid YAML: /);
  });

  it("reads PostgreSQL state and warehouse, expanding ${VAR} in their URLs", () => {
    process.env.REFLOW_TEST_PG_URL = "postgres://app:s3cret@db.example:5432/analytics";
    try {
      const dir = projectWith(`state: { type: postgres, url: "\${REFLOW_TEST_PG_URL}" }\nwarehouse:\n  type: postgres\n  url: \${REFLOW_TEST_PG_URL}?sslmode=disable\n  schema: marts\n`);
      expect(loadProjectConfig(dir)).toMatchObject({
        state: { type: "postgres", url: "postgres://app:s3cret@db.example:5432/analytics", schema: "reflow_state" },
        warehouse: { type: "postgres", url: "postgres://app:s3cret@db.example:5432/analytics?sslmode=disable", schema: "marts" },
      });
    } finally {
      delete process.env.REFLOW_TEST_PG_URL;
    }
  });

  it("names the file, line and variable of an unset environment variable", () => {
    delete process.env.REFLOW_TEST_UNSET;
    expect(errorOf(projectWith(`concurrency: 2\nwarehouse:\n  type: postgres\n  url: postgres://u:pw@h/\${REFLOW_TEST_UNSET}\n`))).toEqual({
      code: "REFLOW_CONFIG_INVALID",
      message: "reflow.yaml:4:8: warehouse.url: environment variable REFLOW_TEST_UNSET is not set",
    });
  });

  it("never prints a URL it rejects (it may hold a password)", () => {
    const error = errorOf(projectWith(`state: { type: postgres, url: "mysql://u:hunter2@h/db" }\n`));
    expect(error).toEqual({ code: "REFLOW_CONFIG_INVALID", message: "reflow.yaml:1:31: state.url: a PostgreSQL URL starts with postgres:// or postgresql://" });
    expect(errorOf(projectWith(`warehouse: { type: postgres, url: "postgres://u:hunter2@h/db", schema: "Bad-Name" }\n`)).message).toBe(
      "reflow.yaml:1:72: warehouse.schema: a schema name is lower-case letters, digits and _",
    );
  });
});
