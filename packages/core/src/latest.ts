import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { mapInput, type MappedInput } from "./mapped-input.js";

/** Every partition reads the newest complete partition of the input (a dimension snapshot). */
export function latest<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D): MappedInput<D> {
  return mapInput(input, { kind: "latest" });
}
