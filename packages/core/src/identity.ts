import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { mapInput, type MappedInput } from "./mapped-input.js";

/** Reads the input's partition with the same key (the default within one grain). */
export function identity<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D): MappedInput<D> {
  return mapInput(input, { kind: "identity" });
}
