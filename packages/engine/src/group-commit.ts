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
  readonly onPublished: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit of finished units: each group is recorded in one state
 * transaction, published with one warehouse publish per dataset, and
 * confirmed in one state transaction — the one recording the next group when
 * that group is ready in time (a commit saved per group), else its own. Every
 * task still goes record → publish → confirm in that order, so a crash at any
 * point leaves what `reconcileRuns` settles, exactly as one task at a time
 * would (a published, unconfirmed version is confirmed by it). A unit's
 * promise resolves only once its confirmation is committed: the engine
 * releases its readers then, never earlier.
 *
 * That is two commits per group (the state transaction, the publish) while
 * groups follow each other, instead of three per task: on SQLite each commit
 * appends every page it dirtied to the WAL, which cost more than the
 * bookkeeping itself for one-row partitions.
 */
export class GroupCommit {
  private pending: Waiting[] = [];
  private pendingTasks = 0;
  /** Published units whose confirmation waits to share the next group's record. */
  private unconfirmed: Waiting[] = [];
  private committing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxTasks: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: GroupCommitOptions) {
    this.maxTasks = options.maxTasks ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 2;
  }

  /**
   * Resolves once the unit is recorded, published and confirmed; rejects with the error of the step that failed.
   * `onPublished` is called once its publish is committed, before the confirmation (which may wait for the next group).
   */
  submit(unit: UnitCommit, onPublished?: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ unit, onPublished, resolve, reject });
      this.pendingTasks += unit.built.length;
      this.poke();
    });
  }

  /** Commits now if the group is full or the scheduler is idle; otherwise makes sure a timer will. */
  poke(): void {
    if (this.committing || (this.pending.length === 0 && this.unconfirmed.length === 0)) return;
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
        const confirm = this.unconfirmed;
        this.pending = [];
        this.pendingTasks = 0;
        this.unconfirmed = [];
        await this.commit(confirm, group);
        // Go on at once only if waiting would not grow the group (the units the publish freed are building by now).
      } while ((this.pending.length > 0 || this.unconfirmed.length > 0) && (this.pendingTasks >= this.maxTasks || this.options.idle()));
    } finally {
      this.committing = false;
    }
    this.poke();
  }

  /** Confirms `confirm` (published before) and records, publishes `group`, leaving it to be confirmed by the next commit. */
  private async commit(confirm: readonly Waiting[], group: readonly Waiting[]): Promise<void> {
    const { state } = this.options;
    let recorded = group.length > 0;
    if (confirm.length > 0 && group.length > 0) {
      try {
        await state.tasksSucceededAndBuilt(
          confirm.flatMap((w) => w.unit.published),
          group.flatMap((w) => w.unit.built),
        );
        for (const w of confirm) w.resolve();
      } catch {
        // Nothing of it was kept: confirm and record apart, so that an error fails only what it would have alone.
        await this.confirm(confirm);
        recorded = await this.record(group);
      }
    } else if (confirm.length > 0) {
      await this.confirm(confirm);
    } else if (group.length > 0) {
      recorded = await this.record(group);
    }
    if (recorded) await this.publish(group);
  }

  private async record(group: readonly Waiting[]): Promise<boolean> {
    try {
      await this.options.state.tasksBuilt(group.flatMap((w) => w.unit.built));
      return true;
    } catch (error) {
      for (const w of group) w.reject(error);
      return false;
    }
  }

  private async confirm(confirm: readonly Waiting[]): Promise<void> {
    try {
      await this.options.state.tasksSucceeded(confirm.flatMap((w) => w.unit.published));
    } catch (error) {
      for (const w of confirm) w.reject(error);
      return;
    }
    for (const w of confirm) w.resolve();
  }

  /** One atomic publish per dataset; the published units wait for their confirmation in `unconfirmed`. */
  private async publish(group: readonly Waiting[]): Promise<void> {
    const { warehouse } = this.options;
    const byDataset = new Map<string, Waiting[]>();
    for (const w of group) (byDataset.get(w.unit.dataset) ?? byDataset.set(w.unit.dataset, []).get(w.unit.dataset)!).push(w);
    const published = new Set<Waiting>();
    for (const [dataset, units] of byDataset) {
      try {
        await warehouse.publish(dataset, units.flatMap((w) => w.unit.refs));
        for (const w of units) published.add(w);
      } catch (error) {
        if (units.length === 1) {
          units[0]!.reject(error);
          continue;
        }
        // The publish is atomic, so nothing of it happened: publish each unit alone, so one bad unit fails only itself.
        for (const w of units) {
          try {
            await warehouse.publish(dataset, w.unit.refs);
            published.add(w);
          } catch (unitError) {
            w.reject(unitError);
          }
        }
      }
    }
    // Confirmed in the order they finished, whatever the dataset.
    const confirmed = group.filter((w) => published.has(w));
    this.unconfirmed.push(...confirmed);
    for (const w of confirmed) w.onPublished?.();
  }
}
