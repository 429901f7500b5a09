import { mappedInputKeys, type MappedSchemes, type PartitionMapping } from "@reflow/core";
import type { CaseModel } from "./differential-case.js";
import type { StoredPartitions } from "./stored-partitions.js";

/** Dataset → its inputs, each with the mapping the compiler resolved for it. */
export type InputMappings = ReadonlyMap<string, readonly { readonly dataset: string; readonly mapping: PartitionMapping; readonly schemes: MappedSchemes }[]>;

export interface Recomputation {
  /** `dataset partition` of every partition an exact incremental apply must rebuild. */
  readonly expected: ReadonlySet<string>;
  /** Why each expected partition is there, for failure reports. */
  readonly why: ReadonlyMap<string, string>;
  /** Datasets whose code truly changed (a helper or constant they use, their version). */
  readonly codeChanged: ReadonlySet<string>;
}

/**
 * The oracle, worked out without the planner: from the two models (which
 * code and source data an edit truly changed) and two from-scratch builds
 * (which partitions' content truly changed). A partition must be rebuilt if
 * its dataset's code changed, if it is a source partition whose data changed
 * as its dataset observes it, or if it reads (through its mapping) a partition
 * whose content changed. Everything else must be left alone.
 */
export function expectedRecomputation(before: CaseModel, after: CaseModel, built: StoredPartitions, scratch: StoredPartitions, mappings: InputMappings): Recomputation {
  const codeChanged = new Set<string>();
  const original = new Map(before.datasets.map((d) => [d.name, d]));
  const helperCode = (model: CaseModel, h: number | undefined): string => {
    if (h === undefined) return "";
    const { form, base, calls } = model.helpers[h]!;
    return `${form}:${base}(${helperCode(model, calls)})`;
  };
  for (const d of after.datasets) {
    const old = original.get(d.name)!;
    const constant = (model: CaseModel) => (d.constant === undefined ? undefined : model.constants[d.constant]);
    if (old.version !== d.version || helperCode(before, d.helper) !== helperCode(after, d.helper) || constant(before) !== constant(after)) codeChanged.add(d.name);
  }

  const contentChanged = (dataset: string, key: string) => built.get(dataset)?.get(key) !== scratch.get(dataset)?.get(key);
  const sortedKeys = new Map([...scratch].map(([dataset, partitions]) => [dataset, [...partitions.keys()].sort()]));
  const expected = new Set<string>();
  const why = new Map<string, string>();
  for (const d of after.datasets) {
    for (const key of sortedKeys.get(d.name) ?? []) {
      const reason = reasonToRebuild(d.name, key);
      if (reason) {
        expected.add(`${d.name} ${key}`);
        why.set(`${d.name} ${key}`, reason);
      }
    }
  }
  return { expected, why, codeChanged };

  function reasonToRebuild(dataset: string, key: string): string | undefined {
    if (!built.get(dataset)?.has(key)) return "it is new";
    if (codeChanged.has(dataset)) return "its code changed";
    const data = after.sourceData[dataset];
    if (data) {
      const old = before.sourceData[dataset]![key]!;
      const now = data[key]!;
      // Observed by content hash: what `read` returns (after helpers such as a floor) must differ, not just the raw rows.
      const versioned = after.datasets.find((d) => d.name === dataset)!.versioned;
      if (versioned) return old.rev !== now.rev ? "its sourceVersion() changed" : undefined;
      return contentChanged(dataset, key) ? "what its read returns changed" : undefined;
    }
    for (const input of mappings.get(dataset) ?? []) {
      for (const read of mappedInputKeys(input.mapping, key, input.schemes, sortedKeys.get(input.dataset) ?? [])) {
        if (contentChanged(input.dataset, read)) return `it reads ${input.dataset} ${read}, whose content changed`;
      }
    }
    return undefined;
  }
}
