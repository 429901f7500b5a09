import type { PlannedTask } from "@reflow/planner";

/**
 * The plan's tasks grouped into what the engine runs as one: a single task,
 * or for a dataset with `batch: N` up to N of its planned partitions in key
 * order, handed to one transform call. A unit never holds a task together
 * with one it reads (a batched dataset cannot read itself), so grouping adds
 * no cycle to the task graph.
 */
export interface TaskUnits {
  /** The task indices of each unit, ascending. */
  readonly units: readonly (readonly number[])[];
  /** The unit of each task. */
  readonly unitOf: readonly number[];
}

export function taskUnits(tasks: readonly PlannedTask[], batchOf: (dataset: string) => number | undefined): TaskUnits {
  const units: number[][] = [];
  const unitOf: number[] = [];
  // Plans list a dataset's tasks in key order: consecutive planned partitions fill one unit.
  const filling = new Map<string, number>();
  tasks.forEach((task, i) => {
    let unit = filling.get(task.dataset);
    if (unit === undefined || units[unit]!.length >= (batchOf(task.dataset) ?? 1)) {
      unit = units.push([]) - 1;
      filling.set(task.dataset, unit);
    }
    units[unit]!.push(i);
    unitOf.push(unit);
  });
  return { units, unitOf };
}
