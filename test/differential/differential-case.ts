import { syntheticDag } from "../../bench/synthetic-dag.js";
import { pick, seededRandom } from "../../pipelines/lib/seeded-random.js";

export const FIRST_DAY = "2024-01-01";
const DAY_MS = 86_400_000;

export type Grain = "daily" | "weekly" | "monthly" | "unpartitioned";

/** How a dataset folds the rows it reads into its own: `count` ignores values, `mod`/`clamp`/`filter` lose information (early cutoff). */
export type Reducer = "sum" | "mod" | "clamp" | "count" | "filter" | "split";

/** One input as written in the pipeline: `wrapper` is the mapping helper around it (`window(x, { days: 3 })`), absent for the default. */
export interface CaseInput {
  readonly name: string;
  readonly wrapper?: { readonly fn: "window" | "offset" | "fanOut" | "latest" | "allPartitions" | "rollup"; readonly arg?: string };
  /** Each row's value counts this many times, so inputs are not interchangeable. */
  readonly weight: number;
}

export interface CaseDataset {
  readonly name: string;
  readonly kind: "source" | "dataset";
  readonly file: number;
  readonly grain: Grain;
  readonly inputs: readonly CaseInput[];
  readonly reducer: Reducer;
  readonly helper?: number;
  readonly constant?: number;
  version: number;
  /** Sources: observed through `sourceVersion()` (a revision) rather than by content hash. */
  readonly versioned: boolean;
  /** Text of a comment in the transform and the name of its accumulator: edits that must not count. */
  note: string;
  local: string;
}

/** A shared helper in `pipelines/lib/helpers.ts`: `linear` changes every value, `floor` only those below `base`. */
export interface CaseHelper {
  readonly form: "linear" | "floor";
  base: number;
  /** Another helper it calls (a lower index), so edits reach datasets through a chain. */
  readonly calls?: number;
  note: string;
}

export interface SourcePartition {
  rev: number;
  rows: number[];
}

/** Everything a generated project is made of, as plain data: rendering it gives the files, editing it is an edit. */
export interface CaseModel {
  readonly seed: number;
  /** The project is built as of the end of this many days. */
  days: number;
  /** Days of source data, more than `days`: moving the clock on brings new partitions. */
  readonly dataDays: number;
  readonly datasets: readonly CaseDataset[];
  readonly helpers: CaseHelper[];
  readonly constants: number[];
  constantsNote: string;
  /** Source name → day key → its rows' values and revision. */
  readonly sourceData: Record<string, Record<string, SourcePartition>>;
}

export interface CaseSize {
  readonly datasets: readonly [number, number];
  readonly days: readonly [number, number];
}

/** Small enough for 200 cases in CI; `REFLOW_DIFF_FULL=1` uses the whole range. */
export const CI_SIZE: CaseSize = { datasets: [20, 22], days: [31, 33] };
export const FULL_SIZE: CaseSize = { datasets: [20, 60], days: [30, 120] };

/** Source data past the first as-of, for edits that move the clock on. */
const DATA_AHEAD = 12;

export function dayKey(day: number): string {
  return new Date(Date.parse(`${FIRST_DAY}T00:00:00Z`) + day * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A seeded random project: the DAG's shape and helper assignment come from
 * the benchmarks' `syntheticDag`, then each dataset gets a grain, a mapping per
 * input, a reducer and maybe a constant, and each source its data.
 */
export function generateCase(seed: number, size: CaseSize): CaseModel {
  const random = seededRandom(`differential:${seed}`);
  const between = ([low, high]: readonly [number, number]) => low + Math.floor(random() * (high - low + 1));
  const n = between(size.datasets);
  const days = between(size.days);
  const dag = syntheticDag({ datasets: n, files: 2 + Math.floor(random() * 3), depth: 4 + Math.floor(random() * 4), helpers: 4, helperShare: 0.15, seed: `differential:${seed}` });
  const constants = [0, 1, 2].map(() => 1 + Math.floor(random() * 20));
  const helpers: CaseHelper[] = [0, 1, 2, 3].map((h) => ({
    form: random() < 0.5 ? "linear" : "floor",
    base: 1 + Math.floor(random() * 40),
    ...(h > 0 && random() < 0.5 ? { calls: Math.floor(random() * h) } : {}),
    note: "Shared by a few datasets.",
  }));
  const grains = new Map<string, Grain>();
  const datasets: CaseDataset[] = dag.datasets.map((d) => {
    const source = d.level === 0;
    const grain: Grain = source ? "daily" : pick(random, ["daily", "daily", "daily", "weekly", "weekly", "monthly", "unpartitioned"] as const);
    grains.set(d.name, grain);
    return {
      name: d.name,
      kind: source ? "source" : "dataset",
      file: d.file,
      grain,
      inputs: d.inputs.map((input) => ({ name: input, weight: 1 + Math.floor(random() * 3), ...mappingFor(random, grains.get(input)!, grain) })),
      reducer: source ? "sum" : pick(random, ["sum", "sum", "mod", "clamp", "count", "filter", "split"] as const),
      ...(d.helper === undefined ? {} : { helper: d.helper }),
      ...(random() < 0.25 ? { constant: Math.floor(random() * constants.length) } : {}),
      version: 1 + Math.floor(random() * 2),
      versioned: source && random() < 0.5,
      note: "why this dataset exists",
      local: "acc",
    };
  });
  const sourceData: Record<string, Record<string, SourcePartition>> = {};
  for (const d of datasets.filter((d) => d.kind === "source")) {
    const partitions: Record<string, SourcePartition> = {};
    for (let day = 0; day < days + DATA_AHEAD; day++) {
      partitions[dayKey(day)] = { rev: 1, rows: Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.floor(random() * 50)) };
    }
    sourceData[d.name] = partitions;
  }
  return { seed, days, dataDays: days + DATA_AHEAD, datasets, helpers, constants, constantsNote: "Tunables shared by datasets.", sourceData };
}

/** A mapping that connects the two grains, the default one most often. */
function mappingFor(random: () => number, input: Grain, output: Grain): Pick<CaseInput, "wrapper"> {
  const r = random();
  if (input === "unpartitioned" || output === "unpartitioned") {
    return input !== "unpartitioned" && r < 0.3 ? { wrapper: { fn: "latest" } } : {};
  }
  const rank = { daily: 0, weekly: 1, monthly: 2 } as const;
  // Rarer than the others: every partition reading every input partition is the costly kind.
  if (r < 0.06) return { wrapper: { fn: "latest" } };
  if (r < 0.1) return { wrapper: { fn: "allPartitions" } };
  if (rank[input] > rank[output]) return { wrapper: { fn: "fanOut" } };
  const unit = input === "weekly" ? "weeks" : "days";
  if (rank[input] < rank[output]) {
    if (r < 0.35 && input === "daily") return { wrapper: { fn: "window", arg: `{ days: ${2 + Math.floor(random() * 6)} }` } };
    return r < 0.5 ? { wrapper: { fn: "rollup" } } : {};
  }
  if (input === "monthly") return {};
  if (r < 0.4) return { wrapper: { fn: "window", arg: `{ ${unit}: ${2 + Math.floor(random() * 3)} }` } };
  if (r < 0.55) return { wrapper: { fn: "offset", arg: `{ ${unit}: ${1 + Math.floor(random() * 2)} }` } };
  return {};
}

export type EditKind = "helper" | "constant" | "comment" | "version" | "source-row" | "clock";
export const EDIT_KINDS: readonly EditKind[] = ["helper", "constant", "comment", "version", "source-row", "clock"];

export interface EditedCase {
  readonly model: CaseModel;
  /** One line per edit, for replaying a failure by eye. */
  readonly edits: readonly string[];
}

/** One to three random edits of a copy of the model (the `step`th of its seed): code that counts, code that does not, and source data. */
export function editCase(original: CaseModel, step: number): EditedCase {
  const model = structuredClone(original) as CaseModel;
  const random = seededRandom(`differential:${model.seed}:edits:${step}`);
  const count = 1 + Math.floor(random() * 3);
  const edits: string[] = [];
  for (let i = 0; i < count; i++) edits.push(applyEdit(model, pick(random, EDIT_KINDS), random));
  return { model, edits };
}

function applyEdit(model: CaseModel, kind: EditKind, random: () => number): string {
  switch (kind) {
    case "helper": {
      const h = Math.floor(random() * model.helpers.length);
      const helper = model.helpers[h]!;
      const before = helper.base;
      helper.base += 1 + Math.floor(random() * 5);
      return `helper shared${h} (${helper.form}): base ${before} -> ${helper.base}`;
    }
    case "constant": {
      const c = Math.floor(random() * model.constants.length);
      const before = model.constants[c]!;
      model.constants[c] = before + 1 + Math.floor(random() * 5);
      return `constant K${c}: ${before} -> ${model.constants[c]}`;
    }
    case "comment": {
      const variant = Math.floor(random() * 4);
      if (variant === 0) {
        const h = Math.floor(random() * model.helpers.length);
        model.helpers[h]!.note += " Reworded.";
        return `comment on helper shared${h}`;
      }
      if (variant === 1) {
        model.constantsNote += " Reworded.";
        return "comment in constants.ts";
      }
      const d = pick(random, model.datasets) as CaseDataset;
      if (variant === 2) {
        d.note += ", reworded";
        return `comment in ${d.name}'s ${d.kind === "source" ? "read" : "transform"}`;
      }
      d.local = d.local === "acc" ? "total" : "acc";
      return `renamed a local variable in ${d.name}`;
    }
    case "version": {
      const d = pick(random, model.datasets) as CaseDataset;
      d.version += 1;
      return `version bump of ${d.name}: ${d.version - 1} -> ${d.version}`;
    }
    case "clock": {
      // Not an edit of the project but of --as-of: new partitions complete, `latest` and `all` readers see them.
      const before = model.days;
      model.days = Math.min(model.dataDays, before + 1 + Math.floor(random() * 6));
      return `as-of moved on: ${before} -> ${model.days} days`;
    }
    case "source-row": {
      const sources = model.datasets.filter((d) => d.kind === "source");
      const source = pick(random, sources);
      const keys = Object.keys(model.sourceData[source.name]!).slice(0, model.days);
      const key = pick(random, keys);
      const partition = model.sourceData[source.name]![key]!;
      const variant = Math.floor(random() * 4);
      partition.rev += 1;
      const where = `source ${source.name} (${source.versioned ? "sourceVersion" : "content hash"}) day ${key}`;
      if (variant === 0 || partition.rows.length < 2) {
        const i = Math.floor(random() * partition.rows.length);
        partition.rows[i] = partition.rows[i]! + 1 + Math.floor(random() * 9);
        return `${where}: row ${i} value changed`;
      }
      if (variant === 1) {
        partition.rows.push(Math.floor(random() * 50));
        return `${where}: row added`;
      }
      if (variant === 2) {
        partition.rows.splice(Math.floor(random() * partition.rows.length), 1);
        return `${where}: row removed`;
      }
      // Same rows in another order: new revision, same content.
      partition.rows.reverse();
      return `${where}: rows reordered`;
    }
  }
}
