import { sql, type AliasedExpression, type Kysely } from "kysely";
import { formatLocation, isReflowError, isSqlQuery, type CheckContext, type PartitionInfo, type Row, type SqlWarehouse, type Warehouse, type WarehouseCheckContext, type WarehouseTable } from "@reflow/core";
import type { InputVersions } from "@reflow/state";
import { eventLoopTurnIfDue } from "./event-loop-turn.js";
import type { ExecutableDataset } from "./execute-plan.js";
import { checkVerdict, PartitionAudit, problemOf, type CheckOutcome } from "./partition-audit.js";
import { TaskError } from "./task-error.js";

export interface SqlBuild {
  readonly version: number;
  readonly dataset: ExecutableDataset;
  readonly partition: PartitionInfo;
  readonly inputVersions: InputVersions;
  readonly tables: ReadonlyMap<string, WarehouseTable>;
  readonly warehouse: Warehouse;
  readonly projectDir: string;
  readonly previousRows: number | undefined;
}

/**
 * Builds a partition of a SQL dataset inside the warehouse: the user's query
 * over exactly the input versions the task reads, written as a new version in
 * one `INSERT … SELECT`, checked (column names, types, nulls), then audited by
 * the dataset's checks as queries. Custom checks with no SQL form get the
 * version's rows read back once. Any failure deletes the version.
 */
export async function buildSqlPartition(build: SqlBuild): Promise<{ inputs: InputVersions; rowCount: number; contentHash: string; warnings: string[] }> {
  const { dataset, warehouse, version } = build;
  const declaration = dataset.declaration;
  const where = `sql at ${formatLocation(dataset.runAt ?? declaration.definedAt)}`;
  const runner = warehouse.sql;
  if (!runner) throw new TaskError("REFLOW_TRANSFORM_FAILED", `${where}: this warehouse cannot run SQL transforms; write a transform instead`);

  const inputs: Record<string, unknown> = {};
  for (const input of dataset.inputs) {
    const versions = build.inputVersions[input.dataset] ?? {};
    const refs = Object.keys(versions).sort().map((partition) => ({ partition, version: versions[partition]! }));
    inputs[input.alias] = runner.versionsOf(build.tables.get(input.dataset)!, refs, input.alias);
  }
  let query: unknown;
  try {
    query = declaration.sql!({ db: runner.db, inputs: Object.freeze(inputs) as never, partition: build.partition, sql });
  } catch (error) {
    throw TaskError.fromUserCode(error, dataset, build.projectDir);
  }
  if (!isSqlQuery(query)) {
    throw new TaskError("REFLOW_TRANSFORM_FAILED", `${where} returned ${describe(query)}, expected a kysely query (db.selectFrom(…)) or a sql\`…\` template`);
  }

  const table = build.tables.get(dataset.name)!;
  const ref = { partition: build.partition.key, version };
  let written;
  try {
    written = await runner.writeVersion(table, ref, query);
  } catch (error) {
    if (!isReflowError(error)) throw error;
    const problem = error.code === "REFLOW_SCHEMA_MISMATCH" ? " returned rows that do not fit the schema" : "";
    throw new TaskError(error.code, `${where}${problem}: ${error.message}`);
  }
  try {
    const context: CheckContext = {
      dataset: dataset.name,
      partition: build.partition,
      ...(build.previousRows === undefined ? {} : { previous: { rowCount: build.previousRows } }),
    };
    const warnings = checkVerdict(await auditInWarehouse(context, written.rowCount, runner, warehouse, table, ref, dataset));
    return { inputs: build.inputVersions, rowCount: written.rowCount, contentHash: written.contentHash, warnings };
  } catch (error) {
    await warehouse.dropVersions(dataset.name, [version]);
    throw error;
  }
}

/** Each check's outcome in declaration order: queries where the check has them, the rows streamed back otherwise. */
async function auditInWarehouse(
  context: CheckContext,
  rowCount: number,
  runner: SqlWarehouse,
  warehouse: Warehouse,
  table: WarehouseTable,
  ref: { partition: string; version: number },
  dataset: ExecutableDataset,
): Promise<CheckOutcome[]> {
  const checks = dataset.declaration.checks;
  const streamed = checks.filter((check) => !check.inWarehouse);
  const byCheck = new Map<unknown, string | undefined>();
  if (streamed.length > 0) {
    const audit = new PartitionAudit(streamed, context);
    let index = 0;
    for await (const batch of warehouse.read(table, [ref])) {
      for (const row of batch) audit.add(row, index++);
      await eventLoopTurnIfDue();
    }
    for (const { check, problem } of await audit.outcomes()) byCheck.set(check, problem);
  }
  const inWarehouse: WarehouseCheckContext = {
    ...context,
    rowCount,
    query: (build) => runner.select(build(runner.db as Kysely<any>, runner.versionsOf(table, [ref], "rows") as AliasedExpression<Row, "rows">)),
  };
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    const problem = check.inWarehouse ? await problemOf(() => check.inWarehouse!(inWarehouse)) : byCheck.get(check);
    outcomes.push({ check, problem });
  }
  return outcomes;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? `an object (${Object.keys(value as Row).slice(0, 3).join(", ") || "no keys"})` : typeof value;
}
