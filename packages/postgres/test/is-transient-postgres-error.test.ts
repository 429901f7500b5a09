import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { isPgDatabaseError, isTransientPostgresError, loadPgDriver } from "../src/index.js";

const databaseError = (code: string) => Object.assign(new pg.DatabaseError("server says no", 0, "error"), { code });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

// pg is loaded by the first connection: a server's error exists only after that.
beforeAll(async () => {
  await loadPgDriver();
});

describe("isPgDatabaseError", () => {
  it("is true of pg's DatabaseError and false of an error that only looks like one", () => {
    expect(isPgDatabaseError(databaseError("08006"))).toBe(true);
    expect(isPgDatabaseError(Object.assign(new Error("server says no"), { code: "08006", severity: "ERROR" }))).toBe(false);
  });
});

describe("isTransientPostgresError: the server was unavailable for a while, not the request wrong", () => {
  it.each([
    ["08006 connection failure", databaseError("08006")],
    ["57P01 admin shutdown (a restart)", databaseError("57P01")],
    ["57P03 cannot connect now (starting up)", databaseError("57P03")],
    ["53300 too many connections", databaseError("53300")],
    ["40001 serialization failure", databaseError("40001")],
    ["ECONNREFUSED", socketError("ECONNREFUSED")],
    ["ECONNRESET", socketError("ECONNRESET")],
    ["pg's connection ended under a query", new Error("Connection terminated unexpectedly")],
    ["a query (a rollback) on a connection that ended under an earlier one", new Error("Client has encountered a connection error and is not queryable")],
    ["every address refused (AggregateError)", new AggregateError([socketError("ECONNREFUSED"), socketError("ECONNREFUSED")])],
  ])("transient: %s", (_, error) => {
    expect(isTransientPostgresError(error)).toBe(true);
  });

  it.each([
    ["42P01 undefined table", databaseError("42P01")],
    ["23505 unique violation", databaseError("23505")],
    ["28P01 wrong password", databaseError("28P01")],
    ["a plain error", new Error("boom")],
    ["a client reflow closed itself", new Error("Client was closed and is not queryable")],
    ["not an error", "ECONNREFUSED"],
  ])("not transient: %s", (_, error) => {
    expect(isTransientPostgresError(error)).toBe(false);
  });
});
