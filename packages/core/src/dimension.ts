import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { isMappedInput, mapInput, type MappedInput } from "./mapped-input.js";
import { formatLocation, ReflowError } from "./reflow-error.js";
import { callerLocation } from "./stack-frames.js";

/**
 * Connects one dimension of a multi dataset with a dataset of one dimension.
 * A daily dataset reading a days × regions input: `dimension(events, "date")`
 * reads every region of its day. Wrap another mapping to change how that
 * dimension is read: `dimension(rollup(events), "date")` for a weekly reader.
 * A one-dimension input feeds a multi dataset by default when only one dimension fits.
 */
export function dimension<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D | MappedInput<D>, name: string): MappedInput<D> {
  if (typeof name !== "string" || name === "") {
    const location = callerLocation();
    throw new ReflowError("REFLOW_INVALID_DECLARATION", `${location ? `${formatLocation(location)}: ` : ""}dimension(): expected the name of a dimension such as "date", got ${JSON.stringify(name)}`, location ? { location } : {});
  }
  if (isMappedInput(input)) return mapInput(input.input as D, { kind: "dimension", dimension: name, of: input.mapping });
  return mapInput(input, { kind: "dimension", dimension: name });
}
