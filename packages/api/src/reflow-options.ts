/** Options every programmatic entry point takes. */
export interface ReflowOptions {
  /** The project folder (default: the working directory). */
  readonly projectDir?: string;
  /** The instant partitions are computed for (default: now). */
  readonly asOf?: Date;
}
