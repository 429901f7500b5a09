import { planSummary, type Plan, type PlannedTask } from "./plan.js";

/** What `reflow backfill DATASET --from KEY --to KEY [--downstream]` asks for. */
export interface BackfillSelection {
  readonly dataset: string;
  /** The partitions of `dataset` in the requested range. */
  readonly keys: ReadonlySet<string>;
  /** Every partition in range (the plan was made with them restated), not only missing or failed ones. */
  readonly restate: boolean;
  /** Also the partitions that read the selected ones, transitively. */
  readonly downstream: boolean;
}

/**
 * Narrows a full plan to a backfill: the range's missing or failed partitions
 * (all of them with `restate`), the later partitions of a dataset that reads
 * its previous one (always), their readers with `downstream`, and the
 * missing or failed partitions they read, built first. Everything else stays in the
 * plan of the next `apply`; the datasets it touches are not recorded as applied.
 */
export function selectBackfill(plan: Plan, selection: BackfillSelection): Plan {
  const tasks = plan.tasks;
  const index = new Map(tasks.map((t, i) => [`${t.dataset}\u0000${t.partition}`, i]));
  const keep = new Set<number>();
  tasks.forEach((task, i) => {
    if (task.dataset !== selection.dataset || !selection.keys.has(task.partition)) return;
    if (selection.restate || task.reason === "missing" || task.reason === "failed") keep.add(i);
  });
  // Tasks are in topological order, then key order: one pass finds every transitive reader.
  // A dataset reading its own previous partition always gets its later partitions rebuilt,
  // --downstream or not: day D+1 computed from the old day D would be wrong.
  tasks.forEach((task, i) => {
    if (keep.has(i)) return;
    const reads = (input: PlannedTask["inputs"][number]) => input.partitions.some((p) => keep.has(index.get(`${input.dataset}\u0000${p}`) ?? -1));
    if (task.inputs.some((input) => (selection.downstream || input.dataset === task.dataset) && reads(input))) keep.add(i);
  });
  // Inputs that were never built (or failed) are built first; stale but built ones are read as they are,
  // and left to the next `apply` like the rest of the plan.
  for (let i = tasks.length - 1; i >= 0; i--) {
    if (!keep.has(i)) continue;
    for (const input of tasks[i]!.inputs) {
      for (const p of input.partitions) {
        const upstream = index.get(`${input.dataset}\u0000${p}`);
        if (upstream !== undefined && (tasks[upstream]!.reason === "missing" || tasks[upstream]!.reason === "failed")) keep.add(upstream);
      }
    }
  }
  const selected = tasks.filter((_, i) => keep.has(i));
  const left = tasks.filter((_, i) => !keep.has(i));
  // A backfill records no forward-only acceptance: it takes no category flags, and the rest is the next apply's.
  const { accepted: _accepted, ...rest } = plan;
  return Object.freeze({
    ...rest,
    tasks: Object.freeze(selected),
    summary: planSummary(selected),
    ...(left.length > 0
      ? { deferred: Object.freeze({ tasks: left.filter((t) => !t.keep).length, datasets: Object.freeze([...new Set(left.map((t) => t.dataset))]), by: "backfill" as const }) }
      : {}),
  });
}
