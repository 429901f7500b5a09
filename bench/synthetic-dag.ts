import { seededRandom } from "../pipelines/lib/seeded-random.js";

/** The shape of a synthetic project: how many datasets, files, helpers and how deep. */
export interface DagShape {
  readonly datasets: number;
  readonly files: number;
  /** Levels of the DAG: level 0 are sources, a dataset at level L reads at least one dataset at L-1. */
  readonly depth: number;
  /** Shared helpers; each is called by `helperShare` of the datasets (at least one). */
  readonly helpers: number;
  readonly helperShare: number;
  readonly seed: string;
}

export interface SyntheticDataset {
  readonly name: string;
  readonly index: number;
  readonly level: number;
  /** Names of the datasets it reads (1–3, none for a source). */
  readonly inputs: readonly string[];
  /** The shared helper it calls, if any. */
  readonly helper?: number;
  /** Which pipeline file declares it (0-based). */
  readonly file: number;
}

export interface SyntheticDag {
  readonly shape: DagShape;
  readonly datasets: readonly SyntheticDataset[];
  /** Datasets calling `helper`, and everything downstream of them: what editing it must rebuild. */
  affectedBy(helper: number): { readonly direct: ReadonlySet<string>; readonly downstream: ReadonlySet<string> };
}

/**
 * A seeded random DAG. Datasets are numbered in level order and files hold
 * consecutive runs of them, so a file only imports from itself or earlier
 * files (no import cycles), as a hand-written project would be laid out.
 */
export function syntheticDag(shape: DagShape): SyntheticDag {
  const random = seededRandom(shape.seed);
  const n = shape.datasets;
  const levelOf = (i: number) => Math.min(shape.depth - 1, Math.floor((i * shape.depth) / n));
  const name = (i: number) => `d${String(i).padStart(5, "0")}`;
  const byLevel: number[][] = [];
  for (let i = 0; i < n; i++) (byLevel[levelOf(i)] ??= []).push(i);

  // Each helper gets its own random share of the datasets.
  const users = Math.max(1, Math.round(n * shape.helperShare));
  const shuffled = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const helperOf = new Map<number, number>();
  for (let h = 0; h < shape.helpers && (h + 1) * users <= n; h++) {
    for (const i of shuffled.slice(h * users, (h + 1) * users)) helperOf.set(i, h);
  }

  const datasets: SyntheticDataset[] = [];
  for (let i = 0; i < n; i++) {
    const level = levelOf(i);
    const inputs = new Set<number>();
    if (level > 0) {
      const previous = byLevel[level - 1]!;
      inputs.add(previous[Math.floor(random() * previous.length)]!);
      const fanIn = 1 + Math.floor(random() * 3);
      const below = byLevel.slice(0, level).flat();
      while (inputs.size < Math.min(fanIn, below.length)) inputs.add(below[Math.floor(random() * below.length)]!);
    }
    const helper = helperOf.get(i);
    datasets.push({
      name: name(i),
      index: i,
      level,
      inputs: [...inputs].sort((a, b) => a - b).map(name),
      ...(helper === undefined ? {} : { helper }),
      file: Math.floor((i * shape.files) / n),
    });
  }

  const readers = new Map<string, string[]>();
  for (const d of datasets) for (const input of d.inputs) (readers.get(input) ?? readers.set(input, []).get(input)!).push(d.name);
  return {
    shape,
    datasets,
    affectedBy(helper) {
      const direct = new Set(datasets.filter((d) => d.helper === helper).map((d) => d.name));
      const downstream = new Set<string>();
      const stack = [...direct];
      while (stack.length > 0) {
        for (const reader of readers.get(stack.pop()!) ?? []) {
          if (direct.has(reader) || downstream.has(reader)) continue;
          downstream.add(reader);
          stack.push(reader);
        }
      }
      return { direct, downstream };
    },
  };
}
