export * from "./engine-events.js";
export * from "./execute-plan.js";
export * from "./task-error.js";
export * from "./task-dependencies.js";
export * from "./ready-queue.js";
export * from "./partition-audit.js";
export * from "./observe-source.js";
export * from "./task-units.js";
