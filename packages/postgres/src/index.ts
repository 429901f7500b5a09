export * from "./connect-postgres.js";
