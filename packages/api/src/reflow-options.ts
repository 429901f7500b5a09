/** Options every programmatic entry point takes. */
export interface ReflowOptions {
  /** The project folder (default: the working directory). */
  readonly projectDir?: string;
  /** The instant partitions are computed for (default: now). */
  readonly asOf?: Date;
  /**
   * Also plan partitions that are not complete yet (`--include-incomplete`):
   * started but not closed, or closed less than `lag` ago. They are built again once complete.
   */
  readonly includeIncomplete?: boolean;
}

/** Options of the commands that take the state's writer lock. */
export interface WriterLockOptions {
  /** How long to wait for another writer's lock: 0 fails at once (default), Infinity waits for ever. */
  readonly waitMs?: number;
}
