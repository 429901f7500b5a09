/**
 * How the host process loads pipeline modules, when it has a faster way than
 * importing each file: the CLI compiles them into one module
 * (cli/bin/pipelines-bundle.mjs). Set process-wide by the host, as module
 * hooks are; absent (tests, the programmatic API), each file is imported.
 */
export interface PipelineImporter {
  /**
   * Imports every file, in order, in one step, and resolves true; or resolves
   * false when it cannot do so exactly, having made no declaration that the
   * caller does not clear.
   */
  importAll(files: readonly string[], projectDir: string): Promise<boolean>;
  /** Prepares the process to import the files one by one (registers tsx). */
  beforeImports(): Promise<void>;
}

const KEY = Symbol.for("reflow.pipelineImporter");

/** The host's importer, if it set one. */
export function pipelineImporter(): PipelineImporter | undefined {
  return (globalThis as unknown as Record<symbol, PipelineImporter | undefined>)[KEY];
}
