import type { StaticPartitions } from "./partition-scheme.js";
import { formatLocation, ReflowError } from "./reflow-error.js";
import { callerLocation } from "./stack-frames.js";

// Keys become parts of table rows and CLI arguments: keep them plain, and never `*` (the unpartitioned key).
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * A fixed list of named partitions, such as regions: `staticPartitions(["eu", "us"])`.
 * Two static datasets read each other by key (identity); a key the input lacks is not planned.
 */
export function staticPartitions(keys: readonly string[]): StaticPartitions {
  const fail = (problem: string): never => {
    const location = callerLocation();
    throw new ReflowError("REFLOW_INVALID_PARTITIONS", `${location ? `${formatLocation(location)}: ` : ""}staticPartitions(): ${problem}`, location ? { location } : {});
  };
  if (!Array.isArray(keys) || keys.length === 0) fail(`expected a non-empty array of keys such as ["eu", "us"], got ${JSON.stringify(keys)}`);
  for (const key of keys) {
    if (typeof key !== "string" || !KEY.test(key)) fail(`key ${JSON.stringify(key)} must be letters, digits, _ . - (starting with a letter or digit)`);
  }
  const duplicate = keys.find((key, i) => keys.indexOf(key) !== i);
  if (duplicate !== undefined) fail(`key "${duplicate}" is listed twice`);
  return Object.freeze({ kind: "static", keys: Object.freeze([...keys]) });
}
