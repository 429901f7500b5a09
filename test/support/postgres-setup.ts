// Setup file of the `e2e-postgres` vitest project: a fresh database per test
// file, named in REFLOW_TEST_PG_DATABASE (CLI runs inherit it), dropped after.
import { afterAll } from "vitest";
import { createTestDatabase } from "./postgres-server.js";

const database = await createTestDatabase();
process.env.REFLOW_TEST_PG_DATABASE = database.url;
afterAll(async () => {
  await database.drop();
});
