import path from "node:path";
import { fingerprintChanges, type FingerprintChange, type FingerprintManifest } from "@reflow/compiler";
import { ReflowError, UNPARTITIONED_KEY } from "@reflow/core";
import { effectivePartitionKeys, type PlannedTask, type TaskReason } from "@reflow/planner";
import { openStateStore } from "@reflow/state";
import { declaredDataset } from "./declared-dataset.js";
import { planProject } from "./plan-project.js";
import type { ReflowOptions } from "./reflow-options.js";

/** One link of the chain of causes, from the partition asked about down to the root. */
export interface ExplanationStep {
  readonly dataset: string;
  readonly partition: string;
  /** Why it is in the plan; absent when it is not (up to date, or rebuilt by an earlier run). */
  readonly reason?: TaskReason;
  /** For people: `never built`, the error of a failed partition, `rebuilt by run #3`… */
  readonly detail?: string;
  /** What changed in its code, for `code-changed` (file and line where there is one). */
  readonly changes?: readonly FingerprintChange[];
  /** In the plan but not rebuilt: its inputs change only by non-breaking changes, so its live version stays and records their new versions. */
  readonly kept?: true;
  /** Input partitions that changed, for `upstream-changed`: the chain goes on with the first. */
  readonly changedInputs?: readonly { readonly dataset: string; readonly partition: string }[];
}

export interface Explanation {
  readonly asOf: string;
  readonly inPlan: boolean;
  readonly chain: readonly ExplanationStep[];
}

/** Why a partition is (or is not) in the plan, as a chain of causes down to the root. Writes nothing. */
export async function explainPartition(options: ReflowOptions & { readonly dataset: string; readonly partition?: string }): Promise<Explanation> {
  const { project, snapshot, plan, observed } = await planProject({ ...options, completeSnapshot: true });
  const dataset = declaredDataset(project, options.dataset);
  const partition = options.partition ?? (dataset.partitions.kind === "unpartitioned" ? UNPARTITIONED_KEY : undefined);
  const keys = effectivePartitionKeys(project.datasets, project.order, plan.asOf).get(dataset.name)!;
  if (partition === undefined || !keys.includes(partition)) {
    const range = keys.length === 0 ? "none yet" : keys.length === 1 ? keys[0] : `${keys[0]} … ${keys[keys.length - 1]}`;
    throw new ReflowError(
      "REFLOW_INVALID_ARGUMENT",
      partition === undefined
        ? `dataset "${dataset.name}" is partitioned: name a partition (it has ${range})`
        : `"${partition}" is not a partition of "${dataset.name}" as of ${plan.asOf.toISOString()} (it has ${range})`,
    );
  }

  const planned = new Map<string, PlannedTask>(plan.tasks.map((t) => [`${t.dataset}\u0000${t.partition}`, t]));
  const store = await openStateStore(project.config.state, "read");
  try {
    const chain: ExplanationStep[] = [];
    let current: { dataset: string; partition: string } | undefined = { dataset: dataset.name, partition };
    while (current) {
      const { dataset: name, partition: key } = current;
      current = undefined;
      const task = planned.get(`${name}\u0000${key}`);
      const built = snapshot.partitions.get(name)?.get(key);
      if (!task) {
        const run = built?.liveVersion != null && store ? await store.reader.version(built.liveVersion) : undefined;
        const builtBy = run ? `built by run #${run.runId}` : undefined;
        const fingerprint = project.datasets.get(name)!.fingerprint;
        const accepted =
          plan.accepted?.some((a) => a.dataset === name && a.partitions.includes(key)) ||
          (built?.fingerprint !== fingerprint && built?.acceptedFingerprint === fingerprint);
        const detail = accepted ? `${builtBy ? `${builtBy} ` : ""}with older code, kept by a forward-only change` : builtBy;
        chain.push({ dataset: name, partition: key, ...(detail ? { detail } : {}) });
        break;
      }
      if (task.reason === "missing") chain.push({ dataset: name, partition: key, reason: task.reason, detail: "never built" });
      else if (task.reason === "failed") {
        const failure = store ? (await store.reader.datasetStatus()).get(name)?.failures.find((f) => f.partition === key)?.error : undefined;
        chain.push({ dataset: name, partition: key, reason: task.reason, detail: failure ?? "its last attempt failed" });
      } else if (task.reason === "restated") chain.push({ dataset: name, partition: key, reason: task.reason });
      else if (task.reason === "source-changed") {
        const now = observed.get(name)?.get(key);
        const detail =
          now?.startsWith("v:") && built?.sourceVersion
            ? `sourceVersion() now gives ${JSON.stringify(now.slice(2))}; the live version was read at ${JSON.stringify(built.sourceVersion.slice(2))}`
            : "reading it now gives other rows than the live version holds (content hash)";
        chain.push({ dataset: name, partition: key, reason: task.reason, detail });
      } else if (task.reason === "incomplete") chain.push({ dataset: name, partition: key, reason: task.reason, detail: "built before it was complete (--include-incomplete)" });
      else if (task.reason === "code-changed" && built?.rollback) {
        chain.push({ dataset: name, partition: key, reason: task.reason, detail: `rolled back by run #${built.rollback.runId}: the live version is not what this code builds` });
      } else if (task.reason === "code-changed") {
        const compiled = project.datasets.get(name)!;
        const previous = built?.fingerprint && store ? (await store.reader.manifests([built.fingerprint])).get(built.fingerprint) : undefined;
        const definedAt = compiled.definedAt ? { file: path.relative(project.config.projectDir, compiled.definedAt.file).split(path.sep).join("/"), line: compiled.definedAt.line } : undefined;
        chain.push({
          dataset: name,
          partition: key,
          reason: task.reason,
          ...(previous
            ? { changes: fingerprintChanges(JSON.parse(previous) as FingerprintManifest, compiled.manifest, definedAt) }
            : { detail: "its fingerprint changed (what the old one was made of was not recorded)" }),
        });
      } else {
        // upstream-changed: the inputs rebuilt by this plan, or since this partition was built.
        const changedInputs: { dataset: string; partition: string }[] = [];
        for (const input of task.inputs) {
          const recorded = built?.inputs[input.dataset] ?? {};
          for (const p of input.partitions) {
            const live = snapshot.partitions.get(input.dataset)?.get(p)?.liveVersion;
            if (planned.has(`${input.dataset}\u0000${p}`) || recorded[p] !== live) changedInputs.push({ dataset: input.dataset, partition: p });
          }
        }
        chain.push({ dataset: name, partition: key, reason: task.reason, ...(task.keep ? { kept: true as const } : {}), changedInputs });
        // Follow an input this plan rebuilds first: that is where the change comes from.
        current = changedInputs.find((i) => planned.has(`${i.dataset}\u0000${i.partition}`)) ?? changedInputs[0];
      }
    }
    return { asOf: plan.asOf.toISOString(), inPlan: chain[0]!.reason !== undefined, chain };
  } finally {
    await store?.close();
  }
}
