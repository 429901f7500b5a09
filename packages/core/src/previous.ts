import { DATASET_REF, type DatasetDeclaration, type DatasetRef, type Row } from "./dataset-declaration.js";
import { mapInput, type MappedInput } from "./mapped-input.js";

/**
 * Stands for "the dataset being declared" inside `previous()`: a declaration
 * cannot name itself in its own options, so `dataset()` binds this to its name.
 */
export const SELF: DatasetRef = Object.freeze({ [DATASET_REF]: true as const, name: "" });

/**
 * A partition reads the partition right before it: `previous()` reads the
 * dataset's own previous partition (a running total), `previous(events)` the
 * input's. The first partition reads nothing. Only through `previous()` may a
 * dataset read itself: it reads strictly earlier partitions, so it is no cycle.
 */
export function previous<R = Row>(): MappedInput<DatasetRef<R>>;
export function previous<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D): MappedInput<D>;
export function previous(input: DatasetDeclaration<string, any> | DatasetRef<any> = SELF): MappedInput {
  return mapInput(input, { kind: "previous" });
}
