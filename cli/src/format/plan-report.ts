import { nextPartitionKey, UNPARTITIONED_KEY, type PartitionScheme } from "@reflow/core";
import type { DatasetCodeDiff } from "@reflow/api";
import { TASK_REASONS, type Plan, type PlannedTask, type TaskReason } from "@reflow/planner";
import { formatCodeDiffs } from "./code-diff-report.js";
import { colors, plural } from "../terminal.js";

/** A run of consecutive partitions of one dataset with the same reason. */
export interface PartitionRange {
  readonly dataset: string;
  readonly first: string;
  readonly last: string;
  readonly count: number;
  readonly reason: TaskReason;
  /** Not complete yet (`--include-incomplete`). */
  readonly incomplete?: boolean;
}

/** Collapses a plan's tasks into ranges of consecutive keys with one reason, in plan order. */
export function collapseRanges(tasks: readonly PlannedTask[], schemeOf: (dataset: string) => PartitionScheme): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  const nextKeys = nextKeyFinders();
  let current: { dataset: string; first: string; last: string; count: number; reason: TaskReason; incomplete?: boolean } | undefined;
  let nextKey: (key: string) => string | undefined = () => undefined;
  for (let t = 0; t < tasks.length; t++) {
    const task = tasks[t]!;
    const sameDataset = current !== undefined && current.dataset === task.dataset;
    if (!sameDataset) nextKey = nextKeys(schemeOf(task.dataset));
    const continues =
      sameDataset && current!.reason === task.reason && current!.incomplete === task.incomplete && nextKey(current!.last) === task.partition;
    if (continues) {
      current!.last = task.partition;
      current!.count += 1;
    } else {
      if (current) ranges.push(current);
      current = { dataset: task.dataset, first: task.partition, last: task.partition, count: 1, reason: task.reason, ...(task.incomplete ? { incomplete: true } : {}) };
    }
  }
  if (current) ranges.push(current);
  return ranges;
}

/**
 * `nextPartitionKey` of a scheme, each key's worked out once per distinct
 * scheme: datasets share their schemes and keys (223,745 tasks of 613 daily
 * datasets in the plan benchmark, 365 distinct keys).
 */
function nextKeyFinders(): (scheme: PartitionScheme) => (key: string) => string | undefined {
  const byScheme = new Map<string, (key: string) => string | undefined>();
  return (scheme) => {
    const id = JSON.stringify(scheme);
    let find = byScheme.get(id);
    if (!find) {
      const next = new Map<string, string | undefined>();
      find = (key) => {
        if (next.has(key)) return next.get(key);
        const found = nextPartitionKey(scheme, key);
        next.set(key, found);
        return found;
      };
      byScheme.set(id, find);
    }
    return find;
  };
}

/** The human form of a plan: what changed, which partitions are built and why, and a summary line. */
export function formatPlan(plan: Plan, schemeOf: (dataset: string) => PartitionScheme, diffs: readonly DatasetCodeDiff[] = []): string {
  if (plan.tasks.length === 0 && plan.datasets.every((d) => d.change === "unchanged")) {
    return `No changes. ${plural(plan.datasets.length, "dataset")} up to date as of ${plan.asOf.toISOString()}.\n`;
  }
  const lines: string[] = [`Plan as of ${plan.asOf.toISOString()}`, ""];
  const direct = plan.datasets.filter((d) => d.change === "added" || d.change === "modified");
  // The plan's own list when nothing is kept (no copy of 223,745 tasks in the plan benchmark).
  const builds = plan.tasks.some((t) => t.keep) ? plan.tasks.filter((t) => !t.keep) : plan.tasks;
  const rebuilt = datasetsOf(builds);
  // Downstream means "rebuilt because something it reads is rebuilt", named with
  // what it reads; datasets with only new or failed partitions are not affected by a change.
  const readsChanged = new Map<string, Set<string>>();
  // Looked up once per run of a dataset's tasks, not per task.
  let via: Set<string> | undefined;
  let viaOf: string | undefined;
  // Indexed loops over the tasks and their inputs, here and below: for…of made an iterator result
  // per task and input where V8 did not optimise it away (~80 MB over the plan benchmark's tasks).
  for (let t = 0; t < builds.length; t++) {
    const task = builds[t]!;
    if (task.reason !== "upstream-changed") continue;
    if (task.dataset !== viaOf) {
      via = readsChanged.get((viaOf = task.dataset));
      if (!via) readsChanged.set(viaOf, (via = new Set<string>()));
    }
    let inPlan = false;
    for (let i = 0; i < task.inputs.length; i++) {
      const input = task.inputs[i]!;
      if (!rebuilt.has(input.dataset)) continue;
      via!.add(input.dataset);
      inPlan = true;
    }
    // Its input was rebuilt by an earlier apply or backfill (without --downstream), not by this plan.
    if (!inPlan) via!.add("what an earlier run rebuilt");
  }
  const downstream = plan.datasets.filter((d) => d.change === "unchanged" && readsChanged.has(d.name));
  const removed = plan.datasets.filter((d) => d.change === "removed");
  if (direct.length > 0) {
    lines.push("Changed directly:");
    for (const d of direct) lines.push(`  ${d.change === "added" ? colors.green("+") : colors.yellow("~")} ${d.name} (${d.change})${d.why ? `: ${d.why}` : ""}`);
  }
  if (downstream.length > 0) {
    lines.push("Affected downstream (rebuilt unless what they read comes out unchanged):");
    for (const d of downstream) lines.push(`  ${colors.cyan("↳")} ${d.name} (reads ${[...readsChanged.get(d.name)!].join(", ")})`);
  }
  const kept = keptByDataset(plan, rebuilt);
  if (kept.size > 0) {
    lines.push("Not rebuilt (what they read changes only by a non-breaking change; apply records the new input versions):");
    for (const [name, { partitions, reads }] of kept) lines.push(`  ${colors.cyan("=")} ${name} (reads ${[...reads].join(", ")}): ${plural(partitions, "partition")}`);
  }
  if (removed.length > 0) {
    lines.push("Removed from code (data and state are kept; declare it again to bring it back):");
    for (const d of removed) lines.push(`  ${colors.red("-")} ${d.name}`);
  }
  lines.push(...formatCodeDiffs(diffs));
  if (builds.length > 0) {
    lines.push("", "Partitions to build:");
    for (const range of collapseRanges(builds, schemeOf)) lines.push(`  ${formatRange(range)}`);
  }
  lines.push("", summaryLine(plan, builds));
  if (plan.warnings?.length) lines.push("", ...plan.warnings.map((w) => colors.yellow(w.message)));
  return `${lines.join("\n")}\n`;
}

/** The datasets of some tasks, in order; a dataset's tasks are mostly consecutive (one lookup per run of them). */
function datasetsOf(tasks: readonly PlannedTask[]): Set<string> {
  const datasets = new Set<string>();
  let last: string | undefined;
  for (let t = 0; t < tasks.length; t++) if (tasks[t]!.dataset !== last) datasets.add((last = tasks[t]!.dataset));
  return datasets;
}

/** Datasets with `keep` tasks: how many partitions, and which of the `rebuilt` datasets they read. */
function keptByDataset(plan: Plan, rebuilt: ReadonlySet<string>): Map<string, { partitions: number; reads: Set<string> }> {
  const kept = new Map<string, { partitions: number; reads: Set<string> }>();
  for (let t = 0; t < plan.tasks.length; t++) {
    const task = plan.tasks[t]!;
    if (!task.keep) continue;
    let entry = kept.get(task.dataset);
    if (!entry) kept.set(task.dataset, (entry = { partitions: 0, reads: new Set() }));
    entry.partitions += 1;
    for (const input of task.inputs) if (rebuilt.has(input.dataset)) entry.reads.add(input.dataset);
  }
  return kept;
}

export function formatRange(range: PartitionRange): string {
  const keys =
    range.first === UNPARTITIONED_KEY
      ? "(unpartitioned)"
      : range.count === 1
        ? `${range.first} (1 partition)`
        : `${range.first} … ${range.last} (${plural(range.count, "partition")})`;
  return `${colors.bold(range.dataset)}: ${keys} ${reasonColor(range.reason)(range.reason)}${range.incomplete ? colors.yellow(", not complete yet") : ""}`;
}

/** Terraform-style one-line summary; `builds`: the plan's tasks that build (not `keep`). */
export function summaryLine(plan: Plan, builds: readonly PlannedTask[]): string {
  // One pass over the tasks (223,745 in the plan benchmark), not one per reason.
  const counts = new Map<TaskReason, number>();
  for (let t = 0; t < builds.length; t++) counts.set(builds[t]!.reason, (counts.get(builds[t]!.reason) ?? 0) + 1);
  const byReason = TASK_REASONS.map((reason) => [reason, counts.get(reason) ?? 0] as const)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n.toLocaleString("en-US")} ${reason}`);
  const changed = plan.datasets.filter((d) => d.change === "added" || d.change === "modified").length;
  const removed = plan.datasets.filter((d) => d.change === "removed").length;
  const parts = [
    `${plural(plan.summary.tasks, "partition")} to build in ${plural(plan.summary.datasets, "dataset")}${byReason.length ? ` (${byReason.join(", ")})` : ""}`,
    `${changed} changed directly`,
    ...(plan.summary.kept ? [`${plural(plan.summary.kept, "partition")} not rebuilt (non-breaking change upstream)`] : []),
    ...(removed > 0 ? [`${removed} removed`] : []),
    ...(plan.deferred
      ? [
          plan.deferred.by === "max-tasks"
            ? `${plural(plan.deferred.tasks, "more partition")} left for the next apply (--max-tasks)`
            : `${plural(plan.deferred.tasks, "other partition")} outside this backfill left for \`reflow apply\``,
        ]
      : []),
  ];
  return colors.bold(`Plan: ${parts.join("; ")}.`);
}

function reasonColor(reason: TaskReason): (text: string) => string {
  switch (reason) {
    case "missing":
      return colors.green;
    case "code-changed":
      return colors.yellow;
    case "failed":
      return colors.red;
    case "upstream-changed":
      return colors.cyan;
    case "restated":
      return colors.magenta;
    case "source-changed":
      return colors.blue;
    case "incomplete":
      return colors.yellow;
  }
}
