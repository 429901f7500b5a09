import type { DatasetDeclaration } from "./dataset-declaration.js";

const REGISTRY = Symbol.for("reflow.declarationRegistry");

type Registry = DatasetDeclaration[];

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (holder[REGISTRY] ??= []);
}

/**
 * Every declaration made in this process, in order. The compiler reads it
 * after importing the pipeline modules, which catches declarations that are
 * not exported (made in a loop by a factory, say). Kept on globalThis so two
 * copies of @reflow/core still share it.
 */
export function registerDeclaration(declaration: DatasetDeclaration): void {
  registry().push(declaration);
}

export function declaredDatasets(): readonly DatasetDeclaration[] {
  return [...registry()];
}

export function clearDeclarations(): void {
  registry().length = 0;
}
