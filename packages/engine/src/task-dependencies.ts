import type { PlannedTask } from "@reflow/planner";

/**
 * For each task of a plan, the tasks that read its output, and how many
 * planned inputs each task waits for. Built once, so the scheduler's work per
 * finished task is proportional to its dependents.
 */
export interface TaskDependencies {
  readonly dependents: readonly number[][];
  readonly waitingFor: number[];
}

export function taskDependencies(tasks: readonly PlannedTask[]): TaskDependencies {
  const index = new Map<string, number>();
  tasks.forEach((task, i) => index.set(`${task.dataset}\u0000${task.partition}`, i));
  const dependents: number[][] = tasks.map(() => []);
  const waitingFor = tasks.map(() => 0);
  tasks.forEach((task, i) => {
    for (const input of task.inputs) {
      for (const partition of input.partitions) {
        const upstream = index.get(`${input.dataset}\u0000${partition}`);
        if (upstream === undefined) continue;
        dependents[upstream]!.push(i);
        waitingFor[i]! += 1;
      }
    }
  });
  return { dependents, waitingFor };
}
