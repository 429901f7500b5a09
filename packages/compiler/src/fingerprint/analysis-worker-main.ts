// The worker entry of `prefetchAnalysis` (the CLI bundles it as reflow-analysis-worker.mjs).
import { serveAnalysis } from "./analysis-worker.js";

serveAnalysis();
