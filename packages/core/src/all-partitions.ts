import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { mapInput, type MappedInput } from "./mapped-input.js";

/** Every partition reads every partition of the input (the default for unpartitioned data). */
export function allPartitions<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D): MappedInput<D> {
  return mapInput(input, { kind: "all" });
}
