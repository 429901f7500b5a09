import type { PartitionVersionRef, Warehouse } from "@reflow/core";
import type { BuiltTaskRecord, PublishedTaskRecord, StateWriter } from "@reflow/state";

/** One unit's built versions, ready to be recorded, published (in one atomic publish) and confirmed. */
export interface UnitCommit {
  readonly dataset: string;
  readonly built: readonly BuiltTaskRecord[];
  readonly refs: readonly PartitionVersionRef[];
  readonly published: readonly PublishedTaskRecord[];
}

export interface GroupCommitOptions {
  readonly state: StateWriter;
  readonly warehouse: Warehouse;
  /** True when the scheduler has nothing building: waiting longer would add nothing to the group. */
  readonly idle: () => boolean;
  /** A group is committed once it holds this many tasks. */
  readonly maxTasks?: number;
  /** …or this long after its first unit arrived, so a slow transform elsewhere does not hold finished ones back. */
  readonly maxDelayMs?: number;
}

interface Waiting {
  readonly unit: UnitCommit;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit of finished units: each commit of a group is one state
 * transaction recording all their versions, one warehouse publish per
 * dataset, and one state transaction confirming them. Every task still goes
 * record → publish → confirm in that order, so a crash at any point leaves
 * what `reconcileRuns` settles, exactly as one task at a time would. A unit's
 * promise resolves only once its confirmation is committed: the engine
 * releases its readers then, never earlier.
 *
 * Per task that is three commits per group instead of three per task: on
 * SQLite each commit appends every page it dirtied to the WAL, which cost
 * more than the bookkeeping itself for one-row partitions.
 */
export class GroupCommit {
  private pending: Waiting[] = [];
  private pendingTasks = 0;
  private committing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxTasks: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: GroupCommitOptions) {
    this.maxTasks = options.maxTasks ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 2;
  }

  /** Resolves once the unit is recorded, published and confirmed; rejects with the error of the step that failed. */
  submit(unit: UnitCommit): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ unit, resolve, reject });
      this.pendingTasks += unit.built.length;
      this.poke();
    });
  }

  /** Commits now if the group is full or the scheduler is idle; otherwise makes sure a timer will. */
  poke(): void {
    if (this.committing || this.pending.length === 0) return;
    if (this.pendingTasks >= this.maxTasks || this.options.idle()) {
      this.startCommitting();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.committing) this.startCommitting();
      }, this.maxDelayMs);
    }
  }

  private startCommitting(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.committing = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      do {
        const group = this.pending;
        this.pending = [];
        this.pendingTasks = 0;
        await this.commit(group);
        // Units that finished while this group committed: go on at once only if waiting would not grow the group.
      } while (this.pending.length > 0 && (this.pendingTasks >= this.maxTasks || this.options.idle()));
    } finally {
      this.committing = false;
    }
    this.poke();
  }

  private async commit(group: readonly Waiting[]): Promise<void> {
    const { state, warehouse } = this.options;
    try {
      await state.tasksBuilt(group.flatMap((w) => w.unit.built));
    } catch (error) {
      for (const w of group) w.reject(error);
      return;
    }
    const byDataset = new Map<string, Waiting[]>();
    for (const w of group) (byDataset.get(w.unit.dataset) ?? byDataset.set(w.unit.dataset, []).get(w.unit.dataset)!).push(w);
    const published: Waiting[] = [];
    for (const [dataset, units] of byDataset) {
      try {
        await warehouse.publish(dataset, units.flatMap((w) => w.unit.refs));
        published.push(...units);
      } catch (error) {
        if (units.length === 1) {
          units[0]!.reject(error);
          continue;
        }
        // The publish is atomic, so nothing of it happened: publish each unit alone, so one bad unit fails only itself.
        for (const w of units) {
          try {
            await warehouse.publish(dataset, w.unit.refs);
            published.push(w);
          } catch (unitError) {
            w.reject(unitError);
          }
        }
      }
    }
    // Confirmed in the order they finished, whatever the dataset.
    const isPublished = new Set(published);
    const confirmed = group.filter((w) => isPublished.has(w));
    try {
      await state.tasksSucceeded(confirmed.flatMap((w) => w.unit.published));
    } catch (error) {
      for (const w of confirmed) w.reject(error);
      return;
    }
    for (const w of confirmed) w.resolve();
  }
}
