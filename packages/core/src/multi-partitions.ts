import { isTimePartitions, type MultiPartitions, type PartitionDimension, type SimplePartitions } from "./partition-scheme.js";
import { formatLocation, ReflowError } from "./reflow-error.js";
import { callerLocation } from "./stack-frames.js";

/** Joins the values of a multi key: `2024-01-03|eu`. Static keys cannot hold it, time keys never do. */
export const MULTI_KEY_SEPARATOR = "|";

const DIMENSION_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Two dimensions crossed, such as days by region:
 * `multi({ date: daily({ start: "2024-01-01" }), region: staticPartitions(["eu", "us"]) })`.
 * Keys are `2024-01-03|eu`, in the dimensions' order; a key exists once each of its values does
 * (a day × region is complete when the day is).
 */
export function multi(dimensions: Readonly<Record<string, SimplePartitions>>): MultiPartitions {
  const fail = (problem: string): never => {
    const location = callerLocation();
    throw new ReflowError("REFLOW_INVALID_PARTITIONS", `${location ? `${formatLocation(location)}: ` : ""}multi(): ${problem}`, location ? { location } : {});
  };
  if (typeof dimensions !== "object" || dimensions === null) fail(`expected dimensions such as { date: daily({ start: "2024-01-01" }), region: staticPartitions(["eu"]) }`);
  const entries = Object.entries(dimensions);
  if (entries.length !== 2) fail(`expected exactly two dimensions, got ${entries.length} (${entries.map(([name]) => name).join(", ") || "none"})`);
  const list = entries.map(([name, scheme]): PartitionDimension => {
    if (!DIMENSION_NAME.test(name)) fail(`dimension name "${name}" must be lower_snake_case`);
    if (typeof scheme !== "object" || scheme === null || !(isTimePartitions(scheme) || scheme.kind === "static")) {
      fail(`dimension "${name}" must be a time grain (daily(…), …) or staticPartitions(…)`);
    }
    return Object.freeze({ name, scheme });
  });
  // One time line per dataset: completeness and --from/--to would be ambiguous with two.
  if (list.every((d) => isTimePartitions(d.scheme))) fail(`at most one dimension can be a time grain (${list.map((d) => d.name).join(", ")} both are)`);
  return Object.freeze({ kind: "multi", dimensions: Object.freeze(list) });
}

/** The values of a multi key, one per dimension; undefined when it does not have one value per dimension. */
export function splitMultiKey(scheme: MultiPartitions, key: string): string[] | undefined {
  const values = key.split(MULTI_KEY_SEPARATOR);
  return values.length === scheme.dimensions.length ? values : undefined;
}

export function joinMultiKey(values: readonly string[]): string {
  return values.join(MULTI_KEY_SEPARATOR);
}

/** Every key made of one value from each list, the first dimension varying slowest. */
export function crossKeys(valuesByDimension: readonly (readonly string[])[]): string[] {
  return valuesByDimension.reduce<string[]>((keys, values) => keys.flatMap((prefix) => values.map((value) => (prefix === "" ? value : `${prefix}${MULTI_KEY_SEPARATOR}${value}`))), [""]);
}

/** The index of a multi scheme's dimension by name, or -1. */
export function dimensionIndex(scheme: MultiPartitions, name: string): number {
  return scheme.dimensions.findIndex((d) => d.name === name);
}
