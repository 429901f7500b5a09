import type { DatasetDeclaration, DatasetRef } from "./dataset-declaration.js";
import { durationProblem, freezeDuration, type Duration } from "./duration.js";
import type { PartitionMapping } from "./partition-mapping.js";
import { formatLocation, ReflowError } from "./reflow-error.js";
import { callerLocation } from "./stack-frames.js";

export const MAPPED_INPUT = Symbol.for("reflow.mappedInput");

/** An input together with the partition mapping it is read through: `window(events, { days: 7 })`. */
export interface MappedInput<D extends DatasetDeclaration<string, any> | DatasetRef<any> = DatasetDeclaration<string, any> | DatasetRef<any>> {
  readonly [MAPPED_INPUT]: true;
  readonly input: D;
  readonly mapping: PartitionMapping;
}

export function isMappedInput(value: unknown): value is MappedInput {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MAPPED_INPUT] === true;
}

/** Wraps an input with a mapping; the helpers below are the public spelling. */
export function mapInput<D extends DatasetDeclaration<string, any> | DatasetRef<any>>(input: D, mapping: PartitionMapping): MappedInput<D> {
  return Object.freeze({ [MAPPED_INPUT]: true as const, input, mapping: Object.freeze(mapping) });
}

/** Validates a duration option of a mapping helper, naming the calling line. */
export function mappingDuration(helper: string, value: unknown): Duration {
  const problem = durationProblem(value, true);
  if (problem) {
    const location = callerLocation();
    throw new ReflowError("REFLOW_INVALID_DECLARATION", `${location ? `${formatLocation(location)}: ` : ""}${helper}(): ${problem}`, location ? { location } : {});
  }
  return freezeDuration(value as Duration);
}
