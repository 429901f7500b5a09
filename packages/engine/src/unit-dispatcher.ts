import type { UnitBuild, UnitOutcome } from "./build-unit.js";

/** A unit to build, as sent to a claimer: what it builds, with which code, from which input versions. */
export interface DispatchedUnit {
  readonly dataset: string;
  /** The fingerprint the plan builds with: a claimer whose code has another refuses the unit. */
  readonly fingerprint: string;
  readonly builds: readonly UnitBuild[];
}

/**
 * Hands units of a run to builders elsewhere (other processes, other
 * machines) and returns their outcomes. The engine still records, publishes
 * and confirms each unit itself, so a dispatcher only ever moves builds.
 */
export interface UnitDispatcher {
  /** The run is recorded: units of `runId` follow. */
  start(runId: number): Promise<void>;
  /** Resolves with the outcome, or with undefined if the unit was withdrawn before anyone claimed it. */
  dispatch(unit: DispatchedUnit): Promise<UnitOutcome | undefined>;
  /** The run is stopping: takes back every unit nobody claimed yet (their `dispatch` resolves undefined). */
  withdraw(): Promise<void>;
  /**
   * The run failed with `error` (its lock lost, its state unreachable) and can record nothing more:
   * every unit not handed back yet, claimed or not, is given up (its `dispatch` rejects with `error`,
   * as does any later one). What a claimer still builds is never published: it reports to no one.
   */
  abandon(error: unknown): void;
  /** The run is over. */
  stop(): Promise<void>;
}
