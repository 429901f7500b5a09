export * from "./connect-postgres.js";
export * from "./is-transient-postgres-error.js";
export * from "./pg-driver.js";
