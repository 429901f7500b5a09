export * from "./plan.js";
export * from "./create-plan.js";
