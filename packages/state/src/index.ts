export * from "./state-schema.js";
export * from "./state-snapshot.js";
export * from "./state-reader.js";
export * from "./state-writer.js";
export * from "./state-store.js";
export * from "./state-lock.js";
export * from "./recover-hot-journal.js";
export { STATE_MIGRATIONS } from "./migrations/index.js";
export type { OnDemandOptions } from "./on-demand-snapshot.js";
