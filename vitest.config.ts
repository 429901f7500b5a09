import { defineConfig } from "vitest/config";
import { postgresUnavailable } from "./test/support/postgres-server.js";

/**
 * The e2e files that also run with state and warehouse on PostgreSQL: the
 * ones that prove the storage contract (atomic publish, versions, rollback,
 * checks, failures, the lock, crash recovery). The rest exercise planning,
 * fingerprints and the CLI, which do not depend on where storage lives.
 */
const POSTGRES_E2E = [
  "test/e2e/apply.test.ts",
  "test/e2e/safe-apply.test.ts",
  "test/e2e/history-rollback.test.ts",
  "test/e2e/checks.test.ts",
  "test/e2e/failures.test.ts",
  "test/e2e/crash-safety.test.ts",
  "test/e2e/sql-transforms.test.ts",
  "test/e2e/workers.test.ts",
];

// Without a server the PostgreSQL e2e project runs one skipped test whose name says why (never silently).
const unavailable = await postgresUnavailable();
const e2e = { testTimeout: 120_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["packages/*/test/**/*.test.ts", "cli/test/**/*.test.ts"] } },
      { test: { name: "e2e", include: ["test/**/*.test.ts"], exclude: ["test/postgres-unavailable.test.ts", "**/node_modules/**"], ...e2e } },
      unavailable
        ? { test: { name: "e2e-postgres", include: ["test/postgres-unavailable.test.ts"], env: { REFLOW_TEST_PG_UNAVAILABLE: unavailable } } }
        : {
            test: {
              name: "e2e-postgres",
              include: POSTGRES_E2E,
              setupFiles: ["test/support/postgres-setup.ts"],
              // Fewer kills than on SQLite: each apply costs more (a server on the same cores), and 10 random moments still cross every step.
              env: { REFLOW_TEST_BACKEND: "postgres", REFLOW_KILL_RUNS: process.env.REFLOW_KILL_RUNS ?? "10" },
              ...e2e,
            },
          },
    ],
  },
});
