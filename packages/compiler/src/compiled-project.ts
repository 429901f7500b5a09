import type { Graph } from "@dagrejs/graphlib";
import type { ColumnSpec, DatasetDeclaration, PartitionMapping, PartitionScheme, RetryPolicy, SourceLocation } from "@reflow/core";
import type { CodeFingerprint } from "./code-fingerprinter.js";
import type { FingerprintManifest } from "./fingerprint-manifest.js";
import type { ProjectConfig } from "./project-config.js";
import type { SqlText } from "./sql-fingerprint.js";

/** An input after compilation: its mapping is always explicit. */
export interface CompiledInput {
  readonly alias: string;
  readonly dataset: string;
  readonly mapping: PartitionMapping;
}

/**
 * A dataset as the planner and engine see it: the user's declaration plus
 * everything derived from it at compile time.
 */
export interface CompiledDataset {
  readonly name: string;
  readonly kind: "source" | "dataset";
  readonly partitions: PartitionScheme;
  readonly inputs: readonly CompiledInput[];
  readonly columns: readonly ColumnSpec[];
  readonly version: number;
  /** Hash of code, version, schema, partitioning and inputs: what the data was built from. */
  readonly fingerprint: string;
  readonly code: CodeFingerprint;
  /** What `fingerprint` was made of, stored with it so `explain` can tell what changed. */
  readonly manifest: FingerprintManifest;
  /** Canonical JSON of description, owner, tags, reprocess, checks, retries, maxConcurrency, pool and retainVersions: not in the fingerprint. */
  readonly metadata: string;
  /** The project's retry policy with the dataset's own `retries` over it. */
  readonly retries: RetryPolicy;
  readonly definedAt?: SourceLocation;
  /** Where the `transform`, `read` or `sql` property is. */
  readonly runAt?: SourceLocation;
  /** SQL datasets: the query compiled with a placeholder partition, as fingerprinted. */
  readonly sql?: SqlText;
  readonly declaration: DatasetDeclaration;
}

/** Something a compile found that does not stop it but may make a plan wrong; `plan` and `apply` print it. */
export interface CompileWarning {
  readonly code: "REFLOW_UNDECLARED_ENV";
  /** `pipelines/x.ts:12: daily_revenue reads process.env.TAX_RATE, which is not in dependsOnEnv; …` */
  readonly message: string;
  readonly location: SourceLocation;
  readonly subject: string;
}

export interface CompiledProject {
  readonly config: ProjectConfig;
  /** Pipeline modules that were loaded. */
  readonly files: readonly string[];
  readonly datasets: ReadonlyMap<string, CompiledDataset>;
  /** Dataset names, every input before its readers. */
  readonly order: readonly string[];
  readonly graph: Graph;
  readonly warnings: readonly CompileWarning[];
}
