import type Database from "better-sqlite3";

interface Queued {
  readonly work: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Small writes of concurrent callers (a version's `writing` row, a small
 * version's rows and `written` mark), committed together: everything queued
 * during one turn of the event loop runs in one transaction when the turn
 * ends. In WAL mode a commit appends every page it dirtied to the log, so one
 * commit for the versions that several tasks open or finish at the same time
 * costs about what one of them did alone.
 *
 * Each caller's promise resolves only once its work is committed, so it is
 * exactly as durable as its own commit would be. If the shared transaction
 * fails, nothing of it was kept and each work runs again in a transaction of
 * its own, so a bad one fails only its caller. A work must therefore have no
 * effect outside the database until its promise resolves.
 */
export class CommitQueue {
  private queued: Queued[] = [];
  /** One transaction function for every commit: better-sqlite3 builds several closures per `transaction()` call. */
  private readonly runAll: (works: readonly (() => void)[]) => void;

  constructor(db: Database.Database) {
    this.runAll = db.transaction((works: readonly (() => void)[]) => {
      for (const work of works) work();
    });
  }

  /** Runs `work` in a transaction shared with the other works queued in this turn; resolves once it is committed. */
  run(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      // setImmediate, not a microtask: the callers continue through microtasks, so every one that can
      // reach here in this turn does before the commit.
      if (this.queued.length === 0) setImmediate(() => this.commit());
      this.queued.push({ work, resolve, reject });
    });
  }

  private commit(): void {
    const queued = this.queued;
    this.queued = [];
    if (queued.length > 1) {
      try {
        this.runAll(queued.map((q) => q.work));
        for (const q of queued) q.resolve();
        return;
      } catch {
        // Rolled back as a whole: each alone below, so that only the bad one fails.
      }
    }
    for (const q of queued) {
      try {
        this.runAll([q.work]);
        q.resolve();
      } catch (error) {
        q.reject(error);
      }
    }
  }
}
