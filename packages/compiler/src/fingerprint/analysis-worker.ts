import { readFileSync } from "node:fs";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { createFileAnalyzer, type SourceText } from "./file-analyzer.js";
import { loadTsMorph, saveTsMorphCodeCache } from "./load-ts-morph.js";
import type { FileSummary } from "./file-summary.js";
import { sha256 } from "../sha256.js";

/**
 * Where the host keeps a worker entry that runs `serveAnalysis()` (the CLI:
 * its bundle's `reflow-analysis-worker.mjs`). Absent (tests, the programmatic
 * API), files are analysed on the main thread as they are needed.
 */
const KEY = Symbol.for("reflow.analysisWorker");
/**
 * Where the host keeps a worker it started from that entry before the files
 * were known, with `workerData: { files: undefined }` and unref'd: it loads
 * ts-morph meanwhile, and waits for a message `{ files }`. The next
 * `prefetchAnalysis` takes it (and stops it when there is nothing to analyse).
 */
const STARTED_KEY = Symbol.for("reflow.startedAnalysisWorker");

/** The summaries of the given files, analysed as they are now, by file. */
export type PrefetchedSummaries = Promise<ReadonlyMap<string, FileSummary>>;

/**
 * Analyses `files` (those the fingerprint cache does not hold as they are now)
 * in a worker thread, so that loading ts-morph and parsing happen on another
 * core while the main thread loads the project. Resolves empty when there is
 * nothing to analyse, no worker entry, or the worker fails: the main thread
 * then analyses what it needs, as without it.
 */
export function prefetchAnalysis(files: readonly string[], signal?: AbortSignal): PrefetchedSummaries {
  const globals = globalThis as unknown as Record<symbol, unknown>;
  const entry = globals[KEY] as string | undefined;
  const started = globals[STARTED_KEY] as Worker | undefined;
  // Taken once: a second compile in the process starts its own.
  delete globals[STARTED_KEY];
  if (!entry || files.length === 0 || signal?.aborted) {
    void started?.terminate();
    return Promise.resolve(new Map());
  }
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      if (started) {
        worker = started;
        worker.ref();
        worker.postMessage({ files });
      } else {
        worker = new Worker(new URL(entry), { workerData: { files } });
      }
    } catch {
      resolve(new Map());
      return;
    }
    // Not wanted any more (the compile failed): the process must not wait for it to finish.
    const stop = () => void worker.terminate();
    signal?.addEventListener("abort", stop, { once: true });
    const done = (summaries: ReadonlyMap<string, FileSummary>) => {
      signal?.removeEventListener("abort", stop);
      resolve(summaries);
    };
    worker.once("message", (summaries: [string, FileSummary][]) => done(new Map(summaries)));
    worker.once("error", () => done(new Map()));
    worker.once("exit", () => done(new Map()));
  });
}

/**
 * The worker's side: reads, hashes and analyses the files it was given (in
 * its data, or, for a worker started early, in the first message after it
 * loaded ts-morph), and posts their summaries.
 */
export function serveAnalysis(): void {
  const { files } = workerData as { files: readonly string[] | undefined };
  if (files) {
    analyseAndPost(files);
    return;
  }
  loadTsMorph();
  parentPort!.once("message", (message: { files: readonly string[] }) => analyseAndPost(message.files));
}

function analyseAndPost(files: readonly string[]): void {
  const sources: SourceText[] = files.map((file) => {
    const text = readFileSync(file, "utf8");
    return { file, text, contentHash: sha256(text) };
  });
  const summaries = createFileAnalyzer().analyse(sources);
  parentPort!.postMessage(sources.map((source, index): [string, FileSummary] => [source.file, summaries[index]!]));
  // The host has what it needs: the next worker loads TypeScript faster.
  saveTsMorphCodeCache();
}
