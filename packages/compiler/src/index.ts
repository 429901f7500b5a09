export * from "./project-config.js";
export * from "./load-pipelines.js";
export * from "./pipeline-importer.js";
export * from "./lineage-graph.js";
export * from "./compiled-project.js";
export * from "./compile-project.js";

export * from "./code-fingerprinter.js";
export * from "./fingerprint-manifest.js";
export * from "./dataset-metadata.js";
export * from "./non-breaking-change.js";
export * from "./sql-fingerprint.js";
export * from "./dataset-environment.js";
