import { jsonStrings } from "./json-strings.js";
import { planJsonWith, type Plan, type PlannedTask } from "./plan.js";

/** About this many characters per chunk: few writes, and no string the size of the whole plan. */
export const PLAN_JSON_CHUNK_LENGTH = 64 * 1024;

/** Where `planJsonWith` puts each task list: the lists are printed from the plan's tasks. */
const BUILDS = Symbol("tasks");
const KEPT = Symbol("kept");

/**
 * `JSON.stringify({ ...planToJson(plan), ...more }, null, 2)` and a newline,
 * the same text, in chunks of about 64 KB to write one after the other. The
 * task lists are printed straight from the plan's tasks, without an object
 * per task nor one string of the whole plan (223,745 tasks and 24 MB in the
 * plan benchmark, where `JSON.stringify` took about three times as long).
 */
export function planJsonChunks(plan: Plan, more: Readonly<Record<string, unknown>> = {}): Generator<string, void, undefined> {
  return planFieldChunks(plan, (json) => ({ ...json, ...more }));
}

/** `planToJson`'s fields with placeholders for its task lists, as `planFieldChunks` gives them. */
export type PlanJsonFields = ReturnType<typeof planJsonWith<symbol, symbol>>;

/**
 * The same for an object made around `planToJson`'s fields (a saved plan):
 * `JSON.stringify(fieldsOf(planToJson(plan)), null, 2)` and a newline, where
 * `fieldsOf` places the fields it is given, placeholders included, at the top level.
 */
export function* planFieldChunks(plan: Plan, fieldsOf: (json: PlanJsonFields) => Readonly<Record<string, unknown>>): Generator<string, void, undefined> {
  const hasKept = plan.tasks.some((task) => task.keep);
  const fields = fieldsOf(planJsonWith(plan, BUILDS, hasKept ? KEPT : undefined));
  let text = "{";
  let first = true;
  for (const [name, value] of Object.entries(fields)) {
    // What JSON.stringify leaves out of an object.
    if (value === undefined || typeof value === "function" || (typeof value === "symbol" && value !== BUILDS && value !== KEPT)) continue;
    text += `${first ? "\n" : ",\n"}  ${JSON.stringify(name)}: `;
    first = false;
    if (value !== BUILDS && value !== KEPT) {
      // A field's own JSON, one level in: strings escape their line breaks, so each one starts a line.
      text += JSON.stringify(value, null, 2).replaceAll("\n", "\n  ");
      continue;
    }
    const kept = value === KEPT;
    const item = kept ? keptItems() : taskItems();
    let items = 0;
    text += "[";
    // Indexed: for…of made an iterator result per task (223,745 in the plan benchmark).
    const tasks = plan.tasks;
    for (let t = 0; t < tasks.length; t++) {
      const task = tasks[t]!;
      if ((task.keep === true) !== kept) continue;
      text += `${items++ === 0 ? "\n" : ",\n"}${item(task)}`;
      if (text.length >= PLAN_JSON_CHUNK_LENGTH) {
        yield text;
        text = "";
      }
    }
    text += items === 0 ? "]" : "\n  ]";
  }
  yield `${text}${first ? "}" : "\n}"}\n`;
}

/**
 * Elements of `tasks`, as JSON.stringify prints them two levels in. What
 * comes before the partition repeats for a dataset's tasks, and what comes
 * after it for each reason: both are made once (the dataset's for each run of its tasks).
 */
function taskItems(): (task: PlannedTask) => string {
  const head = itemHeads();
  const quoted = jsonStrings();
  const tails = new Map<string, string>();
  const incompleteTails = new Map<string, string>();
  return (task) => {
    const byReason = task.incomplete ? incompleteTails : tails;
    let tail = byReason.get(task.reason);
    if (tail === undefined) byReason.set(task.reason, (tail = `,\n      "reason": ${JSON.stringify(task.reason)}${task.incomplete ? `,\n      "incomplete": true` : ""}\n    }`));
    return `${head(task.dataset)}${quoted(task.partition)}${tail}`;
  };
}

/** Elements of `kept`. */
function keptItems(): (task: PlannedTask) => string {
  const head = itemHeads();
  const quoted = jsonStrings();
  return (task) => `${head(task.dataset)}${quoted(task.partition)}\n    }`;
}

/** An element's text up to its partition, made again only when the dataset changes. */
function itemHeads(): (dataset: string) => string {
  let last: string | undefined;
  let head = "";
  return (dataset) => {
    if (dataset !== last) head = `    {\n      "dataset": ${JSON.stringify((last = dataset))},\n      "partition": `;
    return head;
  };
}
