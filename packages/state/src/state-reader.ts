import type Database from "better-sqlite3";
import type { Kysely } from "kysely";
import { StateLock, type LockHolder } from "./state-lock.js";
import type { RunStatus, StateDatabase } from "./state-schema.js";
import { DATASET_NAMES_SQL } from "./dataset-summaries.js";
import { onDemandSnapshot, parseInputs, partitionId, SNAPSHOT_SQL, type OnDemandOptions, type SnapshotRow } from "./on-demand-snapshot.js";
import type { DatasetState, PartitionRollback, PartitionState, StateSnapshot } from "./state-snapshot.js";

export interface RunSummary {
  readonly id: number;
  readonly command: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export interface DatasetStatusCounts {
  readonly built: number;
  readonly failed: number;
  /** Partitions whose last attempt failed, with the error. */
  readonly failures: readonly { readonly partition: string; readonly error: string | null }[];
  /** Live partitions whose version failed "warn" checks, with the messages. */
  readonly warnings: readonly { readonly partition: string; readonly messages: readonly string[] }[];
  /** The last run that had tasks of this dataset, and what became of those tasks. */
  readonly lastRun?: DatasetLastRun;
}

export interface DatasetLastRun extends RunSummary {
  /** This dataset's tasks in that run, by outcome. */
  readonly tasks: { readonly succeeded: number; readonly unchanged: number; readonly failed: number; readonly blocked: number };
}

/** One stored version of one partition, as `reflow history` lists it. */
export interface PartitionVersionRecord {
  readonly partition: string;
  readonly version: number;
  /** The run that built it. */
  readonly runId: number;
  readonly fingerprint: string;
  readonly rows: number;
  /** When it was built and first published. */
  readonly builtAt: string;
  readonly live: boolean;
  /** On the live version, when a rollback put it back. */
  readonly rollback?: PartitionRollback;
}

/** Read-only queries over the state store. Never writes. */
export class StateReader {
  private snapshotStatements: { readonly datasets: Database.Statement; readonly partitions: Database.Statement } | undefined;

  /**
   * `database`: the SQLite connection under `db`, when the state is SQLite;
   * the snapshot then reads through it directly (see `sqlitePartitions`).
   */
  constructor(
    private readonly db: Kysely<StateDatabase>,
    private readonly database?: Database.Database,
  ) {}

  /**
   * `onDemand` (SQLite only; PostgreSQL reads everything): read each
   * dataset's partitions when first asked for, with per-dataset summaries for
   * the planner. Callers must finish with it before closing the store.
   * A dataset read on demand is read when first asked for, so a caller that
   * writes the state meanwhile must only ask for datasets it does not write.
   */
  async snapshot(options: { readonly onDemand?: boolean } & OnDemandOptions = {}): Promise<StateSnapshot> {
    const datasetRows = await this.db.selectFrom("datasets").select(["name", "kind", "fingerprint", "metadata"]).execute();
    const datasets = new Map<string, DatasetState>(
      datasetRows.map(({ metadata, ...row }) => [row.name, Object.freeze({ ...row, ...(metadata === null ? {} : { metadata }) })]),
    );
    const rollbacks = await this.activeRollbacks();
    if (this.database && options.onDemand) return onDemandSnapshot(this.database, datasets, rollbacks, options);
    if (this.database) return { datasets, partitions: this.sqlitePartitions(this.database, rollbacks) };
    const rows = await this.db
      .selectFrom("partitions as p")
      .leftJoin("tasks as t", "t.id", "p.live_task_id")
      .leftJoin("tasks as i", "i.id", "p.inputs_task_id")
      .select([
        "p.dataset",
        "p.partition",
        "p.status",
        "p.live_task_id",
        "p.accepted_fingerprint",
        "t.run_id",
        "t.fingerprint",
        "t.inputs",
        "t.row_count",
        "t.content_hash",
        "t.source_version",
        "t.incomplete",
        "i.inputs as checked_inputs",
      ])
      .execute();
    const partitions = new Map<string, Map<string, PartitionState>>();
    for (const row of rows) {
      let byKey = partitions.get(row.dataset);
      if (!byKey) partitions.set(row.dataset, (byKey = new Map()));
      const rollback = rollbacks.get(partitionId(row.dataset, row.partition));
      byKey.set(row.partition, {
        status: row.status,
        liveVersion: row.live_task_id,
        fingerprint: row.fingerprint,
        inputs: parseInputs(row.checked_inputs ?? row.inputs),
        rowCount: row.row_count,
        contentHash: row.content_hash,
        ...(row.source_version === null ? {} : { sourceVersion: row.source_version }),
        ...(row.incomplete === 1 ? { incomplete: true } : {}),
        ...(row.run_id === null ? {} : { liveRun: row.run_id }),
        ...(row.accepted_fingerprint === null ? {} : { acceptedFingerprint: row.accepted_fingerprint }),
        ...(rollback && rollback.version === row.live_task_id ? { rollback: rollback.mark } : {}),
      });
    }
    return { datasets, partitions };
  }

  /**
   * Every partition's state, read from SQLite as arrays through statements
   * prepared once, one dataset at a time (no dataset name per row), sharing
   * each dataset's few fingerprints and the empty inputs of every source
   * partition: a plan reads one row per partition of the project (365,000 in
   * the plan benchmark), and kysely's row objects cost twice the CPU.
   */
  private sqlitePartitions(database: Database.Database, rollbacks: ReadonlyMap<string, { version: number; mark: PartitionRollback }>): Map<string, Map<string, PartitionState>> {
    const statements = (this.snapshotStatements ??= {
      datasets: database.prepare(DATASET_NAMES_SQL).pluck(),
      partitions: database.prepare(SNAPSHOT_SQL).raw(true),
    });
    const partitions = new Map<string, Map<string, PartitionState>>();
    for (const dataset of statements.datasets.all() as string[]) {
      const byKey = new Map<string, PartitionState>();
      const fingerprints = new Map<string, string>();
      for (const row of statements.partitions.all(dataset) as SnapshotRow[]) {
        const [partition, failed, liveVersion, recorded, inputs, rowCount, contentHash, sourceVersion, incomplete, liveRun, acceptedFingerprint] = row;
        let fingerprint = recorded;
        if (fingerprint !== null) {
          const shared = fingerprints.get(fingerprint);
          if (shared === undefined) fingerprints.set(fingerprint, fingerprint);
          else fingerprint = shared;
        }
        const rollback = rollbacks.size > 0 ? rollbacks.get(partitionId(dataset, partition)) : undefined;
        byKey.set(partition, {
          status: failed === 1 ? "failed" : "built",
          liveVersion,
          fingerprint,
          inputs: parseInputs(inputs),
          rowCount,
          contentHash,
          ...(sourceVersion === null ? {} : { sourceVersion }),
          ...(incomplete === 1 ? { incomplete: true } : {}),
          ...(liveRun === null ? {} : { liveRun }),
          ...(acceptedFingerprint === null ? {} : { acceptedFingerprint }),
          ...(rollback && rollback.version === liveVersion ? { rollback: rollback.mark } : {}),
        });
      }
      partitions.set(dataset, byKey);
    }
    return partitions;
  }

  /**
   * The newest rollback of each partition. It still holds when its version is
   * live: any later build is a new version id that no rollback names.
   */
  private async activeRollbacks(): Promise<Map<string, { version: number; mark: PartitionRollback }>> {
    const rows = await this.db
      .selectFrom("rollbacks")
      .select(["dataset", "partition", "run_id", "to_version", "code_fingerprint", "pinned"])
      .where("status", "=", "succeeded")
      .orderBy("id")
      .execute();
    return new Map(
      rows.map((r) => [
        partitionId(r.dataset, r.partition),
        { version: r.to_version, mark: Object.freeze({ runId: r.run_id, codeFingerprint: r.code_fingerprint, pinned: r.pinned === 1 }) },
      ]),
    );
  }

  /**
   * Every version of a dataset's partitions the state knows to be stored
   * (built, and not deleted by gc), newest first within each partition, with
   * which one is live and whether a rollback put it there.
   */
  async versionHistory(dataset: string): Promise<PartitionVersionRecord[]> {
    const [versions, snapshot] = await Promise.all([
      this.db
        .selectFrom("tasks")
        .select(["id", "run_id", "partition", "fingerprint", "row_count", "finished_at"])
        .where("dataset", "=", dataset)
        .where("status", "=", "succeeded")
        .where("purged_at", "is", null)
        .orderBy("partition")
        .orderBy("id", "desc")
        .execute(),
      this.snapshot(),
    ]);
    const partitions = snapshot.partitions.get(dataset);
    return versions.map((v) => {
      const live = partitions?.get(v.partition);
      const isLive = live?.liveVersion === v.id;
      return {
        partition: v.partition,
        version: v.id,
        runId: v.run_id,
        fingerprint: v.fingerprint,
        rows: v.row_count ?? 0,
        builtAt: v.finished_at === null ? "" : isoTime(v.finished_at),
        live: isLive,
        ...(isLive && live?.rollback ? { rollback: live.rollback } : {}),
      };
    });
  }

  /**
   * The version of each partition of a dataset that was live when run `runId`
   * started: the last build or rollback of it in an earlier run (runs are
   * one at a time, so run ids order them).
   */
  async liveBeforeRun(dataset: string, runId: number): Promise<Map<string, number>> {
    const changes = await this.db
      .selectFrom("tasks")
      .select(["run_id", "partition", "id as version"])
      .where("dataset", "=", dataset)
      .where("status", "=", "succeeded")
      .where("run_id", "<", runId)
      .unionAll(
        this.db
          .selectFrom("rollbacks")
          .select(["run_id", "partition", "to_version as version"])
          .where("dataset", "=", dataset)
          .where("status", "=", "succeeded")
          .where("run_id", "<", runId),
      )
      .orderBy("run_id")
      .execute();
    const live = new Map<string, number>();
    for (const change of changes) live.set(change.partition, change.version);
    return live;
  }

  /** The run that made each of these versions (task ids), built or not. */
  async versionRuns(versions: readonly number[]): Promise<Map<number, number>> {
    const runs = new Map<number, number>();
    for (let i = 0; i < versions.length; i += 500) {
      const rows = await this.db.selectFrom("tasks").select(["id", "run_id"]).where("id", "in", versions.slice(i, i + 500)).execute();
      for (const row of rows) runs.set(row.id, row.run_id);
    }
    return runs;
  }

  async run(id: number): Promise<RunSummary | undefined> {
    const row = await this.db.selectFrom("runs").select(["id", "command", "status", "started_at", "finished_at"]).where("id", "=", id).executeTakeFirst();
    return row ? toRunSummary(row) : undefined;
  }

  /** Per dataset: partitions built and failed, failures, and the last run that touched it. */
  async datasetStatus(): Promise<Map<string, DatasetStatusCounts>> {
    const counts = await this.db
      .selectFrom("partitions")
      .select((eb) => ["dataset", "status", eb.fn.countAll<number>().as("n")])
      .groupBy(["dataset", "status"])
      .execute();
    const failures = await this.db
      .selectFrom("partitions as p")
      .innerJoin("tasks as t", "t.id", "p.last_task_id")
      .select(["p.dataset", "p.partition", "t.error"])
      .where("p.status", "=", "failed")
      .orderBy("p.dataset")
      .orderBy("p.partition")
      .execute();
    const warned = await this.db
      .selectFrom("partitions as p")
      .innerJoin("tasks as t", "t.id", "p.live_task_id")
      .select(["p.dataset", "p.partition", "t.warnings"])
      .where("t.warnings", "is not", null)
      .orderBy("p.dataset")
      .orderBy("p.partition")
      .execute();
    const lastRuns = await this.db
      .selectFrom("tasks as t")
      .select((eb) => ["t.dataset", eb.fn.max("t.run_id").as("run_id")])
      .groupBy("t.dataset")
      .execute();
    const lastRunTasks = await this.db
      .selectFrom("tasks as t")
      .innerJoin(
        this.db.selectFrom("tasks").select((eb) => ["dataset", eb.fn.max("run_id").as("run_id")]).groupBy("dataset").as("last"),
        (join) => join.onRef("last.dataset", "=", "t.dataset").onRef("last.run_id", "=", "t.run_id"),
      )
      .select((eb) => ["t.dataset", "t.status", eb.fn.countAll<number>().as("n")])
      .groupBy(["t.dataset", "t.status"])
      .execute();
    const runs = new Map((await this.runs()).map((run) => [run.id, run]));
    type Entry = { built: number; failed: number; failures: { partition: string; error: string | null }[]; warnings: { partition: string; messages: string[] }[]; lastRun?: DatasetLastRun };
    const status = new Map<string, Entry>();
    const entry = (dataset: string) => {
      let value = status.get(dataset);
      if (!value) status.set(dataset, (value = { built: 0, failed: 0, failures: [], warnings: [] }));
      return value;
    };
    for (const row of counts) entry(row.dataset)[row.status] = Number(row.n);
    for (const row of failures) entry(row.dataset).failures.push({ partition: row.partition, error: row.error });
    for (const row of warned) entry(row.dataset).warnings.push({ partition: row.partition, messages: JSON.parse(row.warnings!) as string[] });
    for (const row of lastRuns) {
      const run = runs.get(Number(row.run_id));
      if (!run) continue;
      const outcome = (taskStatus: string) => Number(lastRunTasks.find((t) => t.dataset === row.dataset && t.status === taskStatus)?.n ?? 0);
      entry(row.dataset).lastRun = { ...run, tasks: {
          succeeded: outcome("succeeded"),
          unchanged: outcome("unchanged"),
          failed: outcome("failed"),
          blocked: outcome("blocked"),
        },
      };
    }
    return status;
  }

  /** The printed sources recorded for these code hashes; unknown ones are absent. */
  async sources(hashes: readonly string[]): Promise<Map<string, string>> {
    if (hashes.length === 0) return new Map();
    const rows = await this.db.selectFrom("fingerprint_sources").select(["hash", "source"]).where("hash", "in", [...hashes]).execute();
    return new Map(rows.map((r) => [r.hash, r.source]));
  }

  /** The manifests (JSON) recorded for these fingerprints; unknown ones are absent. */
  async manifests(fingerprints: readonly string[]): Promise<Map<string, string>> {
    if (fingerprints.length === 0) return new Map();
    const rows = await this.db.selectFrom("fingerprints").select(["fingerprint", "manifest"]).where("fingerprint", "in", [...fingerprints]).execute();
    return new Map(rows.map((r) => [r.fingerprint, r.manifest]));
  }

  /** The run that built a version (task id), and when. */
  async version(taskId: number): Promise<{ runId: number; finishedAt: string | null } | undefined> {
    const row = await this.db.selectFrom("tasks").select(["run_id", "finished_at"]).where("id", "=", taskId).executeTakeFirst();
    return row ? { runId: row.run_id, finishedAt: row.finished_at === null ? null : isoTime(row.finished_at) } : undefined;
  }

  /** Who holds the writer lock, if anyone (alive or not). */
  async lockHolder(): Promise<LockHolder | undefined> {
    return new StateLock(this.db).holder();
  }

  async runs(limit?: number): Promise<RunSummary[]> {
    let query = this.db.selectFrom("runs").select(["id", "command", "status", "started_at", "finished_at"]).orderBy("id", "desc");
    if (limit !== undefined) query = query.limit(limit);
    const rows = await query.execute();
    return rows.map(toRunSummary);
  }
}

/** Task times are stored as milliseconds since the epoch (migration 0008); callers get the ISO text they always did. */
function isoTime(milliseconds: number): string {
  return new Date(milliseconds).toISOString();
}

function toRunSummary(row: { id: number; command: string; status: RunStatus; started_at: string; finished_at: string | null }): RunSummary {
  return { id: row.id, command: row.command, status: row.status, startedAt: row.started_at, finishedAt: row.finished_at };
}
