import { formatDayKey, parseDayKey } from "@reflow/core";
import { TempProject } from "../test/support/temp-project.js";
import type { SyntheticDag, SyntheticDataset } from "./synthetic-dag.js";

export const FIRST_DAY = "2024-01-01";

export interface GeneratedProject {
  readonly project: TempProject;
  readonly dag: SyntheticDag;
  /** `--as-of` giving every daily dataset exactly `partitions` partitions. */
  readonly asOf: string;
  readonly partitions: number;
  /** Rewrites the shared helpers file with helper `helper` returning a different value (`variant` 0 is the original). */
  editHelper(helper: number, variant: number): void;
}

/**
 * Writes a synthetic DAG as a reflow project in a temp folder, with the
 * public authoring API as a user would: one `source()` or `dataset()` per
 * node, inputs imported from the file that declares them, shared helpers
 * in `pipelines/lib/shared.ts`, source rows from `pipelines/lib/rows.ts`.
 */
export function generateProject(dag: SyntheticDag, options: { readonly partitions: number; readonly rowsPerPartition: number }): GeneratedProject {
  const project = new TempProject();
  const fileName = (file: number) => `f${String(file).padStart(4, "0")}`;
  const fileOf = new Map(dag.datasets.map((d) => [d.name, d.file]));
  const byFile = new Map<number, SyntheticDataset[]>();
  for (const d of dag.datasets) (byFile.get(d.file) ?? byFile.set(d.file, []).get(d.file)!).push(d);

  for (const [file, datasets] of byFile) {
    const imports = new Map<string, Set<string>>();
    const use = (from: string, name: string) => (imports.get(from) ?? imports.set(from, new Set()).get(from)!).add(name);
    for (const d of datasets) {
      if (d.helper !== undefined) use("./lib/shared.js", helperName(d.helper));
      if (d.level === 0) use("./lib/rows.js", "syntheticRows");
      for (const input of d.inputs) if (fileOf.get(input) !== file) use(`./${fileName(fileOf.get(input)!)}.js`, input);
    }
    const header = [
      `import { daily, dataset, source } from "@reflow/core";`,
      `import { z } from "zod";`,
      ...[...imports].map(([from, names]) => `import { ${[...names].sort().join(", ")} } from "${from}";`),
      "",
      "const row = z.object({ key: z.string(), value: z.number() });",
    ];
    const body = datasets.map((d) => declaration(d, options.rowsPerPartition));
    project.write(`pipelines/${fileName(file)}.ts`, `${[...header, ...body].join("\n")}\n`);
  }
  project.write("pipelines/lib/rows.ts", ROWS_TS);
  const writeHelpers = (edited: number, variant: number) =>
    project.write("pipelines/lib/shared.ts", [...Array(dag.shape.helpers).keys()].map((h) => helperSource(h, h === edited ? variant : 0)).join("\n"));
  writeHelpers(-1, 0);

  return {
    project,
    dag,
    asOf: formatDayKey(parseDayKey(FIRST_DAY)! + options.partitions * 86_400_000),
    partitions: options.partitions,
    editHelper: writeHelpers,
  };
}

function declaration(d: SyntheticDataset, rows: number): string {
  const helper = d.helper === undefined ? undefined : helperName(d.helper);
  if (d.level === 0) {
    return `
export const ${d.name} = source("${d.name}", {
  partitions: daily({ start: "${FIRST_DAY}" }),
  schema: row,
  // A cheap version (as an ETag would be): plan compares it instead of reading every source partition.
  sourceVersion: ({ partition }) => partition.key,
  read: ({ partition }) => syntheticRows(partition.key, ${rows}${helper ? `, ${helper}` : ""}),
});`;
  }
  const aliases = d.inputs.map((input, i) => `i${i}: ${input}`).join(", ");
  const reads = d.inputs.map((_, i) => `    for await (const r of inputs.i${i}) total += r.value;`).join("\n");
  return `
export const ${d.name} = dataset("${d.name}", {
  partitions: daily({ start: "${FIRST_DAY}" }),
  inputs: { ${aliases} },
  schema: row,
  transform: async ({ inputs, partition }) => {
    let total = 0;
${reads}
    return [{ key: partition.key, value: ${helper ? `${helper}(total)` : "total"} }];
  },
});`;
}

function helperName(helper: number): string {
  return `shared${helper}`;
}

function helperSource(helper: number, variant: number): string {
  return `/** Shared helper ${helper}: called by a few datasets. */
export function ${helperName(helper)}(value: number): number {
  return value * ${helper + 1} + ${variant};
}
`;
}

const ROWS_TS = `/** \`count\` deterministic rows for one partition. */
export function syntheticRows(key: string, count: number, scale: (value: number) => number = (value) => value) {
  const rows = [];
  for (let i = 0; i < count; i++) rows.push({ key, value: scale(i) });
  return rows;
}
`;
