import { planSummary, type Plan } from "./plan.js";

/**
 * The first `maxTasks` tasks of a plan (`apply --max-tasks`). Tasks are in
 * topological order, so a prefix never runs a task before one it reads; the
 * rest is left for the next apply, which plans it again.
 */
export function limitPlan(plan: Plan, maxTasks: number | undefined): Plan {
  if (maxTasks === undefined || plan.tasks.length <= maxTasks) return plan;
  const tasks = plan.tasks.slice(0, maxTasks);
  const left = plan.tasks.slice(maxTasks);
  return Object.freeze({
    ...plan,
    tasks,
    summary: planSummary(tasks),
    deferred: Object.freeze({
      tasks: left.filter((t) => !t.keep).length + (plan.deferred?.tasks ?? 0),
      datasets: Object.freeze([...new Set([...left.map((t) => t.dataset), ...(plan.deferred?.datasets ?? [])])]),
      by: "max-tasks" as const,
    }),
  });
}
