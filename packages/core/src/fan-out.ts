import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { mapInput, type MappedInput } from "./mapped-input.js";

/** A finer partition reads the coarser input partition containing it: a day reads its month. */
export function fanOut<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D): MappedInput<D> {
  return mapInput(input, { kind: "fan-out" });
}
