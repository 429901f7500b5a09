export * from "./sqlite-warehouse.js";
