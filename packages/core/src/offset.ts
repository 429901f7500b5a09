import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import type { Duration } from "./duration.js";
import { mapInput, mappingDuration, type MappedInput } from "./mapped-input.js";

/** A partition reads the input partitions of its window moved `by` earlier. Day D with `{ days: 1 }` reads D-1; the first partition reads nothing. */
export function offset<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D, by: Duration): MappedInput<D> {
  return mapInput(input, { kind: "offset", by: mappingDuration("offset", by) });
}
