import { FIRST_DAY, type CaseDataset, type CaseHelper, type CaseModel, type Reducer } from "./differential-case.js";

const SCHEMES = {
  daily: `daily({ start: "${FIRST_DAY}" })`,
  weekly: `weekly({ start: "2024-W01" })`,
  monthly: `monthly({ start: "2024-01" })`,
} as const;

/** The output expression of each reducer, given the folded value `v`: all bounded, some lossy. */
const OUTPUTS: Readonly<Record<Reducer, string>> = {
  sum: "[{ key: partition.key, value: v % 100003 }]",
  mod: "[{ key: partition.key, value: v % 7 }]",
  clamp: "[{ key: partition.key, value: Math.min(v, 60) }]",
  count: "[{ key: partition.key, value: v % 100003 }]",
  filter: "v % 3 === 0 ? [] : [{ key: partition.key, value: v % 1000 }]",
  split: "[{ key: `${partition.key}/a`, value: v % 10 }, { key: `${partition.key}/b`, value: Math.floor(v / 10) % 10 }]",
};

/**
 * The files of a case's project, by path relative to the project folder, as a
 * user would write them: one `source()`/`dataset()` per node, inputs imported
 * from the file that declares them, helpers and constants in `pipelines/lib`,
 * source data in `data/*.json` read by the sources at run time.
 */
export function renderCase(model: CaseModel): Record<string, string> {
  const files: Record<string, string> = {
    "pipelines/lib/helpers.ts": model.helpers.map(renderHelper).join("\n"),
    "pipelines/lib/constants.ts": `// ${model.constantsNote}\n${model.constants.map((value, c) => `export const K${c} = ${value};\n`).join("")}`,
    "pipelines/lib/source-data.ts": SOURCE_DATA_TS,
  };
  for (const [name, partitions] of Object.entries(model.sourceData)) files[`data/${name}.json`] = `${JSON.stringify(partitions, null, 1)}\n`;
  const fileOf = new Map(model.datasets.map((d) => [d.name, d.file]));
  for (const file of new Set(model.datasets.map((d) => d.file))) {
    const declared = model.datasets.filter((d) => d.file === file);
    const imported = new Map<number, Set<string>>();
    for (const d of declared) {
      for (const input of d.inputs) {
        const from = fileOf.get(input.name)!;
        if (from !== file) (imported.get(from) ?? imported.set(from, new Set()).get(from)!).add(input.name);
      }
    }
    files[`pipelines/${fileName(file)}.ts`] = [
      `import { allPartitions, daily, dataset, fanOut, latest, monthly, offset, rollup, source, weekly, window } from "@reflow/core";`,
      `import { z } from "zod";`,
      `import { ${model.helpers.map((_, h) => `shared${h}`).join(", ")} } from "./lib/helpers.js";`,
      `import { ${model.constants.map((_, c) => `K${c}`).join(", ")} } from "./lib/constants.js";`,
      `import { sourceRevision, sourceRows } from "./lib/source-data.js";`,
      ...[...imported].map(([from, names]) => `import { ${[...names].sort().join(", ")} } from "./${fileName(from)}.js";`),
      "",
      "const row = z.object({ key: z.string(), value: z.number().int() });",
      ...declared.map(renderDataset),
    ].join("\n");
  }
  return files;
}

function fileName(file: number): string {
  return `f${String(file).padStart(4, "0")}`;
}

function renderHelper(helper: CaseHelper, h: number): string {
  const value = helper.calls === undefined ? "value" : `shared${helper.calls}(value)`;
  const body = helper.form === "linear" ? `${value} * ${h + 2} + ${helper.base}` : `Math.max(${value}, ${helper.base})`;
  return `/** ${helper.note} */\nexport function shared${h}(value: number): number {\n  return ${body};\n}\n`;
}

/** `shared1(acc + K0)`: what a dataset's helper and constant make of its folded value. */
function folded(d: CaseDataset): string {
  const value = d.constant === undefined ? d.local : `${d.local} + K${d.constant}`;
  return d.helper === undefined ? value : `shared${d.helper}(${value})`;
}

function renderDataset(d: CaseDataset): string {
  const partitions = d.grain === "unpartitioned" ? "" : `\n  partitions: ${SCHEMES[d.grain]},`;
  if (d.kind === "source") {
    const version = d.versioned ? `\n  sourceVersion: ({ partition }) => sourceRevision("${d.name}", partition.key),` : "";
    return `
export const ${d.name} = source("${d.name}", {${partitions}
  schema: row,
  version: ${d.version},${version}
  read: ({ partition }) => {
    // Note: ${d.note}
    return sourceRows("${d.name}", partition.key).map((${d.local}) => ({ key: partition.key, value: ${folded(d)} }));
  },
});`;
  }
  const inputs = d.inputs.map((input, i) => {
    const wrapped = input.wrapper ? `${input.wrapper.fn}(${input.name}${input.wrapper.arg ? `, ${input.wrapper.arg}` : ""})` : input.name;
    return `i${i}: ${wrapped}`;
  });
  const reads = d.inputs.map((input, i) => `    for await (const r of inputs.i${i}) ${d.local} += ${d.reducer === "count" ? input.weight : `r.value * ${input.weight}`};`);
  return `
export const ${d.name} = dataset("${d.name}", {${partitions}
  inputs: { ${inputs.join(", ")} },
  schema: row,
  version: ${d.version},
  transform: async ({ inputs, partition }) => {
    // Note: ${d.note}
    let ${d.local} = 0;
${reads.join("\n")}
    const v = ${folded(d)};
    return ${OUTPUTS[d.reducer]};
  },
});`;
}

const SOURCE_DATA_TS = `import { readFileSync } from "node:fs";

interface SourcePartition {
  readonly rev: number;
  readonly rows: readonly number[];
}

/** Read afresh on every call, as an export would be: editing data/*.json is new source data, not new code. */
function partitionOf(source: string, key: string): SourcePartition {
  const all = JSON.parse(readFileSync(new URL(\`../../data/\${source}.json\`, import.meta.url), "utf8")) as Record<string, SourcePartition>;
  return all[key] ?? { rev: 0, rows: [] };
}

export function sourceRows(source: string, key: string): number[] {
  return [...partitionOf(source, key).rows];
}

export function sourceRevision(source: string, key: string): string {
  return String(partitionOf(source, key).rev);
}
`;
