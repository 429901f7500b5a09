import type { PlannedTask } from "@reflow/planner";

export type TaskOutcome = "succeeded" | "unchanged" | "failed" | "blocked";

/** What the engine reports while it runs, for progress displays and logs. */
export type EngineEvent =
  | { readonly type: "run-started"; readonly runId: number; readonly total: number }
  | { readonly type: "task-started"; readonly task: PlannedTask }
  | { readonly type: "task-retrying"; readonly task: PlannedTask; readonly attempt: number; readonly attempts: number; readonly delayMs: number; readonly error: string }
  | { readonly type: "task-finished"; readonly task: PlannedTask; readonly outcome: "succeeded"; readonly rowCount: number; readonly warnings: readonly string[] }
  | { readonly type: "task-finished"; readonly task: PlannedTask; readonly outcome: "unchanged" }
  | { readonly type: "task-finished"; readonly task: PlannedTask; readonly outcome: "failed"; readonly error: string }
  | { readonly type: "task-finished"; readonly task: PlannedTask; readonly outcome: "blocked"; readonly error: string }
  /**
   * The run failed with an error no task owns (its writer lock lost, its state unreachable): nothing
   * more starts, and `executePlan` rejects with `error` once the `underWay` units building here end.
   */
  | { readonly type: "run-stopping"; readonly error: unknown; readonly underWay: number };

export interface TaskFailure {
  readonly dataset: string;
  readonly partition: string;
  readonly error: string;
}

export interface ApplyResult {
  readonly runId: number;
  /** `interrupted`: stopped (Ctrl-C) before every task ran; `notStarted` were left for the next apply. */
  readonly status: "succeeded" | "failed" | "interrupted";
  readonly succeeded: number;
  /** Not rebuilt: everything they read was rebuilt with identical content (early cutoff). */
  readonly unchanged: number;
  /** Not rebuilt: what they read changed only by a non-breaking change; the new input versions were recorded. */
  readonly kept: number;
  readonly failed: readonly TaskFailure[];
  /** Tasks not run because an input partition failed; `error` names it. */
  readonly blocked: readonly TaskFailure[];
  /** Failed "warn" checks of published versions; `error` is the check's message. */
  readonly warnings: readonly TaskFailure[];
  readonly notStarted: number;
  readonly rowsWritten: number;
}
