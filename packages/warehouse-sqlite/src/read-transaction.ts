import type Database from "better-sqlite3";

/**
 * The reads of one turn of the event loop, in one read transaction. In WAL
 * mode a read outside a transaction begins and ends one of its own, each
 * taking and releasing a lock on the shared-memory index (system calls): that
 * cost about as much as reading a one-row partition, and the tasks a group
 * commit frees read their inputs in the same turn.
 *
 * A write on the connection while it is open would land in it and be committed
 * only when it ends, so every write path calls `end()` first.
 */
export class ReadTransaction {
  private open = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly endOfTurn = () => this.end();

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare("begin");
    this.commit = db.prepare("commit");
  }

  /** Before a read: opens this turn's transaction, unless one (this one, or a write's) is open. */
  join(): void {
    if (this.open || this.db.inTransaction) return;
    this.begin.run();
    this.open = true;
    setImmediate(this.endOfTurn);
  }

  /** Ends the read transaction if it is open: before every write, and when the turn ends. */
  end(): void {
    if (!this.open) return;
    this.open = false;
    this.commit.run();
  }
}
