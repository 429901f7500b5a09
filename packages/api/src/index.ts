export * from "./reflow-options.js";
export * from "./plan-project.js";
export * from "./apply-project.js";
export * from "./project-status.js";
export * from "./project-lineage.js";
export { isReflowError, parseDayKey, ReflowError, UNPARTITIONED_KEY } from "@reflow/core";
export { planToJson, type Plan, type PlannedTask, type TaskReason } from "@reflow/planner";
export type { ApplyResult, EngineEvent } from "@reflow/engine";
