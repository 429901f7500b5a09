export * from "./plan.js";
export * from "./plan-json-chunks.js";
export * from "./create-plan.js";
export * from "./saved-plan.js";
export * from "./limit-plan.js";
export * from "./select-backfill.js";
export * from "./mixed-logic-warnings.js";
export * from "./fingerprint-ranges.js";
