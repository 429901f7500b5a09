import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import type { Duration } from "./duration.js";
import { mapInput, mappingDuration, type MappedInput } from "./mapped-input.js";

/** A lookback: a partition reads the input partitions in the `length` before its window ends. Day D with `{ days: 7 }` reads D-6…D. */
export function window<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D, length: Duration): MappedInput<D> {
  return mapInput(input, { kind: "window", length: mappingDuration("window", length) });
}
