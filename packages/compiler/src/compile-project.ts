import path from "node:path";
import {
  columnsOfJsonSchema,
  compareNames,
  defaultMapping,
  describeMapping,
  describeScheme,
  formatLocation,
  mappingProblem,
  ReflowError,
  resolveMapping,
  type ColumnSpec,
  type DatasetDeclaration,
  type PartitionScheme,
} from "@reflow/core";
import { createCodeFingerprinter, type CodeFingerprint } from "./code-fingerprinter.js";
import type { CompiledDataset, CompiledInput, CompiledProject, CompileWarning } from "./compiled-project.js";
import { datasetMetadata } from "./dataset-metadata.js";
import type { FingerprintManifest } from "./fingerprint-manifest.js";
import { environmentHashes, undeclaredEnvReads } from "./dataset-environment.js";
import { buildLineageGraph, graphlib, topologicalOrder } from "./lineage-graph.js";
import { loadPipelines } from "./load-pipelines.js";
import { rowJsonSchemas, type RowJsonSchema } from "./row-json-schemas.js";
import { sha256 } from "./sha256.js";
import { compileSqlText, type SqlText } from "./sql-fingerprint.js";
import type { ProjectConfig } from "./project-config.js";

/** Bump when the dataset fingerprint recipe changes, so every dataset is seen as changed once. */
const FINGERPRINT_RECIPE = 1;

/**
 * Loads a project's pipeline modules, validates the declarations, builds the
 * lineage DAG and fingerprints every dataset. Pure with respect to state and
 * warehouse: it reads only the project's files (and writes the fingerprint cache).
 */
export async function compileProject(config: ProjectConfig): Promise<CompiledProject> {
  const fingerprinter = createCodeFingerprinter({
    projectDir: config.projectDir,
    // Next to a SQLite state; in .reflow/ when the state is on a server (the cache is this machine's).
    cacheFile: path.join(config.state.type === "sqlite" ? path.dirname(config.state.path) : path.join(config.projectDir, ".reflow"), "cache", "fingerprints.json"),
  });
  // Edited pipeline files are analysed while the modules load (in a worker, where the CLI provides one).
  let prefetched: Promise<void> = Promise.resolve();
  const stopPrefetch = new AbortController();
  // An error before fingerprinting (a module that fails, a cycle) must not wait for the worker.
  const { files, declarations, lineage, order } = await (async () => {
    const loaded = await loadPipelines(config, { onFiles: (found) => (prefetched = fingerprinter.prefetch(found, stopPrefetch.signal)) });
    const lineage = buildLineageGraph(loaded.declarations);
    return { ...loaded, lineage, order: topologicalOrder(lineage) };
  })().catch((error: unknown) => {
    stopPrefetch.abort();
    throw error;
  });
  await prefetched;
  const byName = new Map(declarations.map((d) => [d.name, d]));

  const codes = fingerprinter.fingerprint(
    declarations.map((d) => {
      if (!d.definedAt) {
        throw new ReflowError("REFLOW_FINGERPRINT_FAILED", `dataset "${d.name}": cannot tell where it was declared (no stack trace)`, { subject: d.name });
      }
      return {
        name: d.name,
        file: d.definedAt.file,
        line: d.definedAt.line,
        column: d.definedAt.column ?? 0,
        property: d.runProperty,
        ...(d.callStack ? { callStack: d.callStack } : {}),
      };
    }),
  );

  const jsonSchemaOf = rowJsonSchemas();
  // Datasets of one converted schema share its columns, checked (naming the first of them) when made.
  const columnsOf = new Map<RowJsonSchema, readonly ColumnSpec[]>();
  const datasets = new Map<string, CompiledDataset>();
  const warnings: CompileWarning[] = [];
  for (const name of order) {
    const declaration = byName.get(name)!;
    const inputs = declaration.inputs.map((input): CompiledInput => {
      const upstream = byName.get(input.dataset)!;
      const mapping = input.mapping ? resolveMapping(input.mapping, upstream.partitions, declaration.partitions) : defaultMapping(upstream.partitions, declaration.partitions);
      if (!mapping) {
        throw new ReflowError(
          "REFLOW_PARTITION_MISMATCH",
          `${formatLocation(declaration.definedAt)}: dataset "${name}" (${describeScheme(declaration.partitions)}) cannot read input "${input.alias}" = "${upstream.name}" (${describeScheme(upstream.partitions)}): no partition mapping between these grains${dimensionHint(input.alias, upstream.partitions, declaration.partitions)}`,
          { subject: name, ...(declaration.definedAt ? { location: declaration.definedAt } : {}) },
        );
      }
      // Defaults are checked too: identity between days of two time zones is refused, not assumed.
      const problem = mappingProblem(mapping, upstream.partitions, declaration.partitions);
      if (problem) {
        throw new ReflowError(
          "REFLOW_PARTITION_MISMATCH",
          `${formatLocation(declaration.definedAt)}: dataset "${name}" (${describeScheme(declaration.partitions)}) cannot read input "${input.alias}" = "${upstream.name}" (${describeScheme(upstream.partitions)}) through ${describeMapping(mapping)}: ${problem}`,
          { subject: name, ...(declaration.definedAt ? { location: declaration.definedAt } : {}) },
        );
      }
      return Object.freeze({ alias: input.alias, dataset: input.dataset, mapping });
    });
    if (declaration.pool !== undefined && !(declaration.pool in config.pools)) {
      const known = Object.keys(config.pools);
      throw new ReflowError(
        "REFLOW_UNKNOWN_POOL",
        `${formatLocation(declaration.definedAt)}: dataset "${name}": pool "${declaration.pool}" is not declared in reflow.yaml (${known.length === 0 ? "it declares no pools" : `pools: ${known.join(", ")}`})`,
        { subject: name, ...(declaration.definedAt ? { location: declaration.definedAt } : {}) },
      );
    }
    const code = codes.get(name)!;
    const runAt = declaration.definedAt ? { file: declaration.definedAt.file, line: code.line } : undefined;
    const jsonSchema = jsonSchemaOf(declaration);
    let columns = columnsOf.get(jsonSchema);
    if (!columns) columnsOf.set(jsonSchema, (columns = Object.freeze(columnsOfJsonSchema(jsonSchema.json, name))));
    const sqlText = declaration.sql ? compileSqlText(declaration, runAt, columns) : undefined;
    warnings.push(...undeclaredEnvReads(declaration, code.env, config.projectDir));
    const env = environmentHashes(declaration.dependsOnEnv);
    datasets.set(
      name,
      Object.freeze({
        name,
        kind: declaration.kind,
        partitions: declaration.partitions,
        inputs: Object.freeze(inputs),
        columns,
        version: declaration.version,
        fingerprint: datasetFingerprint(declaration, inputs, sqlText ? sqlCodeHash(sqlText, code) : code.hash, env, jsonSchema.text),
        manifest: fingerprintManifest(declaration, inputs, code, sqlText, env, jsonSchema.text),
        metadata: datasetMetadata(declaration),
        code,
        ...(sqlText ? { sql: sqlText } : {}),
        ...(runAt ? { runAt } : {}),
        retries: Object.freeze({ ...config.retries, ...declaration.retries }),
        ...(declaration.definedAt ? { definedAt: declaration.definedAt } : {}),
        declaration,
      }),
    );
  }
  let graph: CompiledProject["graph"] | undefined;
  return Object.freeze({
    config,
    files: Object.freeze(files),
    datasets,
    order: Object.freeze(order),
    // Made when read: nothing in reflow reads it.
    get graph() {
      return (graph ??= graphlib(lineage));
    },
    warnings: Object.freeze(warnings),
  });
}

/** Reading a multi input into one dimension must be said: name the helper that says it. */
function dimensionHint(alias: string, input: PartitionScheme, output: PartitionScheme): string {
  const multi = input.kind === "multi" ? input : output.kind === "multi" ? output : undefined;
  if (!multi || (input.kind === "multi" && output.kind === "multi")) return "";
  return `; say which dimension: ${multi.dimensions.map((d) => `dimension(${alias}, "${d.name}")`).join(" or ")}`;
}

function fingerprintManifest(
  declaration: DatasetDeclaration,
  inputs: readonly CompiledInput[],
  code: CodeFingerprint,
  sqlText: SqlText | undefined,
  env: Readonly<Record<string, string | null>>,
  jsonSchema: string,
): FingerprintManifest {
  return Object.freeze({
    ...(Object.keys(env).length > 0 ? { env } : {}),
    code: sqlText ? sha256(JSON.stringify(sqlText)) : code.unitHash,
    ...(sqlText ? { sql: sqlText.sql } : {}),
    declarations: code.declarations.map((d) => ({ ...d, hash: code.declarationHashes[`${d.file}#${d.name}`]! })),
    packages: code.packages,
    version: declaration.version,
    schema: jsonSchema,
    partitions: JSON.stringify(declaration.partitions),
    inputs: JSON.stringify([...inputs].sort((a, b) => compareNames(a.alias, b.alias))),
  });
}

/**
 * A SQL transform's code: its compiled SQL and parameters, plus the helpers,
 * builtins and packages its function references; not the function's own
 * source, so an edit that compiles to the same SQL is not a change.
 */
function sqlCodeHash(sqlText: SqlText, code: CodeFingerprint): string {
  return sha256(JSON.stringify({ sql: sqlText.sql, parameters: sqlText.parameters, closure: code.closureHash }));
}

function datasetFingerprint(
  declaration: DatasetDeclaration,
  inputs: readonly CompiledInput[],
  codeHash: string,
  env: Readonly<Record<string, string | null>>,
  jsonSchema: string,
): string {
  const head = {
    // Only when declared, so that datasets without it keep their fingerprints.
    ...(Object.keys(env).length > 0 ? { env } : {}),
    recipe: FINGERPRINT_RECIPE,
    kind: declaration.kind,
    code: codeHash,
    version: declaration.version,
    partitions: declaration.partitions,
  };
  // JSON.stringify({ ...head, schema, inputs }), with the schema's text made once per schema.
  const material = `${JSON.stringify(head).slice(0, -1)},"schema":${jsonSchema},"inputs":${JSON.stringify([...inputs].sort((a, b) => compareNames(a.alias, b.alias)))}}`;
  return sha256(material).slice(0, 32);
}
