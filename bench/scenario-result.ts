/** What one scenario measured: the median of its runs against the target. */
export interface ScenarioResult {
  readonly scenario: string;
  /** What `median` and `runs` are in, e.g. "s", "tasks/s", "MB". */
  readonly unit: string;
  readonly target: { readonly comparison: "<=" | ">="; readonly value: number };
  readonly median: number;
  readonly runs: readonly number[];
  readonly met: boolean;
  /** The sizes it ran at and anything else worth reading next to the figure. */
  readonly details: Readonly<Record<string, unknown>>;
  /** Why it could not run here (e.g. no PostgreSQL server); nothing was measured. */
  readonly skipped?: string;
}

export function scenarioResult(fields: Omit<ScenarioResult, "met">): ScenarioResult {
  const { comparison, value } = fields.target;
  return { ...fields, met: comparison === "<=" ? fields.median <= value : fields.median >= value };
}
