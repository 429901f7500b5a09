import type { PlannedTask } from "@reflow/planner";

/**
 * Which ready task starts first. `plan` follows the plan (topological, then
 * partition key); `oldest-first` / `newest-first` prefer partition keys,
 * e.g. so that dashboards get recent days back first.
 */
export type TaskOrder = "plan" | "oldest-first" | "newest-first";

export const TASK_ORDERS: readonly TaskOrder[] = ["plan", "oldest-first", "newest-first"];

/** Slots a task needs besides the global concurrency. */
export interface TaskLimits {
  /** At most this many tasks of the dataset at once. */
  readonly datasetLimit: (dataset: string) => number | undefined;
  /** The pool the dataset's tasks share, with its size. */
  readonly poolOf: (dataset: string) => { readonly name: string; readonly size: number } | undefined;
}

/**
 * Tasks whose inputs are built, in the chosen order, handed out only when
 * their dataset and pool have a free slot. A task that cannot start waits
 * aside, keyed by the slot it needs, and comes back when that slot frees:
 * each hand-out is O(log n) however many tasks wait.
 */
export class ReadyQueue {
  private readonly ready: Heap;
  private readonly parked = new Map<string, Heap>();
  private readonly running = new Map<string, number>();

  constructor(
    private readonly tasks: readonly PlannedTask[],
    order: TaskOrder,
    private readonly limits: TaskLimits,
  ) {
    this.ready = new Heap(comparator(tasks, order));
  }

  push(i: number): void {
    this.ready.push(i);
  }

  /** The next task that may start now, counted as running; undefined if none may. */
  take(): number | undefined {
    for (let i = this.ready.pop(); i !== undefined; i = this.ready.pop()) {
      const full = this.fullSlot(this.tasks[i]!.dataset);
      if (full === undefined) {
        this.occupy(i, +1);
        return i;
      }
      let waiting = this.parked.get(full);
      if (!waiting) this.parked.set(full, (waiting = new Heap(this.ready.before)));
      waiting.push(i);
    }
    return undefined;
  }

  /** Whether task `a` starts before task `b` in this order. */
  goesBefore(a: number, b: number): boolean {
    return this.ready.before(a, b);
  }

  /** Undoes `take()` of `i`: it is ready again and holds no slot. */
  putBack(i: number): void {
    this.occupy(i, -1);
    this.ready.push(i);
  }

  /** Takes `i`'s slots again after `release(i)`, though they may be full: it goes on running. */
  hold(i: number): void {
    this.occupy(i, +1);
  }

  /** A task taken earlier finished: its slots free up, and a task waiting for each comes back. */
  release(i: number): void {
    for (const slot of this.occupy(i, -1)) {
      const next = this.parked.get(slot)?.pop();
      if (next !== undefined) this.ready.push(next);
    }
  }

  private fullSlot(dataset: string): string | undefined {
    const limit = this.limits.datasetLimit(dataset);
    const datasetSlot = `dataset:${dataset}`;
    if (limit !== undefined && (this.running.get(datasetSlot) ?? 0) >= limit) return datasetSlot;
    const pool = this.limits.poolOf(dataset);
    if (pool && (this.running.get(`pool:${pool.name}`) ?? 0) >= pool.size) return `pool:${pool.name}`;
    return undefined;
  }

  private occupy(i: number, delta: 1 | -1): string[] {
    const dataset = this.tasks[i]!.dataset;
    const pool = this.limits.poolOf(dataset);
    const slots = [`dataset:${dataset}`, ...(pool ? [`pool:${pool.name}`] : [])];
    for (const slot of slots) this.running.set(slot, (this.running.get(slot) ?? 0) + delta);
    return slots;
  }
}

function comparator(tasks: readonly PlannedTask[], order: TaskOrder): (a: number, b: number) => boolean {
  switch (order) {
    case "plan":
      return (a, b) => a < b;
    case "oldest-first":
      return (a, b) => {
        const pa = tasks[a]!.partition;
        const pb = tasks[b]!.partition;
        return pa === pb ? a < b : pa < pb;
      };
    case "newest-first":
      return (a, b) => {
        const pa = tasks[a]!.partition;
        const pb = tasks[b]!.partition;
        return pa === pb ? a < b : pa > pb;
      };
  }
}

/** A binary min-heap of task indices under `before`. */
class Heap {
  private readonly items: number[] = [];

  constructor(readonly before: (a: number, b: number) => boolean) {}

  push(item: number): void {
    const items = this.items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): number | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < items.length && this.before(items[left]!, items[best]!)) best = left;
        if (right < items.length && this.before(items[right]!, items[best]!)) best = right;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
