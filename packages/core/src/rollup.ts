import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { mapInput, type MappedInput } from "./mapped-input.js";

/** A coarser partition reads every finer input partition that starts in its window: a month reads its days (the default from a finer grain). */
export function rollup<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D): MappedInput<D> {
  return mapInput(input, { kind: "rollup" });
}
