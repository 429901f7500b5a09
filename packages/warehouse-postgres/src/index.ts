export * from "./postgres-warehouse.js";
