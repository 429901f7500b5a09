import { isPgDatabaseError } from "./pg-driver.js";

// Connection exceptions, serialization failures, insufficient resources, operator intervention (a server
// shutting down or restarting), system and internal errors: worth trying again once the server is back.
const TRANSIENT_SQLSTATE_CLASSES = ["08", "40", "53", "57", "58", "XX"];
// The server could not be reached or went away under a query.
const TRANSIENT_SOCKET_CODES = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"];

/**
 * Whether an error from PostgreSQL (or from reaching it) says the server was
 * unavailable for a while, rather than that the request was wrong.
 */
export function isTransientPostgresError(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(isTransientPostgresError);
  if (isPgDatabaseError(error)) return TRANSIENT_SQLSTATE_CLASSES.includes((error.code ?? "").slice(0, 2));
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && TRANSIENT_SOCKET_CODES.includes(code)) return true;
  // pg's own errors for a connection that ended under it, or under an earlier query of it (a rollback
  // after a cut), carry no code. Not "Client was closed": that one reflow closed itself.
  return /^(Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable)$/.test(error.message);
}
