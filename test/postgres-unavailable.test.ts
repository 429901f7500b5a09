import { it } from "vitest";

// Run in place of the PostgreSQL e2e files when no server answers (see vitest.config.ts).
it.skip(`PostgreSQL e2e tests skipped: ${process.env.REFLOW_TEST_PG_UNAVAILABLE ?? "no server"}`, () => {});
