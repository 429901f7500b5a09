import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkpoint, discard, ok, planJson, restore, tasks, withEnv, type Checkpoint } from "../support/e2e.js";
import { TempProject } from "../support/temp-project.js";

/*
 * Datasets made by a factory, one that depends on an environment variable, and
 * a helper they share; applied once, then each test makes one edit.
 */
const AS_OF = "2024-01-03";
const DAYS = ["2024-01-01", "2024-01-02"];
const project = new TempProject({
  "reflow.yaml": "pipelines:\n  - pipelines/**/*.ts\n",
  "pipelines/orders.ts": `import { daily, source } from "@reflow/core";
import { z } from "zod";

export const orders = source("orders", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ region: z.string(), amount: z.number() }),
  read: () => [{ region: "eu", amount: 10 }, { region: "us", amount: 20 }],
});
`,
  "pipelines/lib/tax.ts": `export const TAX = 1;\n`,
  "pipelines/regional.ts": `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { orders } from "./orders.js";
import { TAX } from "./lib/tax.js";

// One dataset per region, each with its own rate.
function regionalRevenue(region: string, rate: number) {
  return dataset(\`\${region}_revenue\`, {
    partitions: daily({ start: "2024-01-01" }),
    inputs: { orders },
    schema: z.object({ day: z.string(), total: z.number() }),
    transform: async ({ inputs, partition }) => {
      const rows = (await inputs.orders.rows()).filter((row) => row.region === region);
      return [{ day: partition.key, total: rows.reduce((sum, row) => sum + row.amount, 0) * rate * TAX }];
    },
  });
}

export const eu = regionalRevenue("eu", 2);
export const us = regionalRevenue("us", 3);
`,
  "pipelines/taxed.ts": `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { orders } from "./orders.js";

export const taxed = dataset("taxed", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { orders },
  schema: z.object({ day: z.string(), total: z.number() }),
  dependsOnEnv: ["TAX_RATE"],
  transform: async ({ inputs, partition }) => {
    const rate = Number(process.env.TAX_RATE);
    return [{ day: partition.key, total: (await inputs.orders.rows()).length * rate }];
  },
});
`,
});
let applied: Checkpoint | undefined;
const plan = (...args: string[]) => withEnv({ TAX_RATE: "0.1" }, () => project.reflow("plan", "--as-of", AS_OF, ...args));

beforeAll(() => {
  withEnv({ TAX_RATE: "0.1" }, () => ok(project.reflow("apply", "--yes", "--as-of", AS_OF)));
  applied = checkpoint(project);
});
beforeEach(() => restore(project, applied!));
afterAll(() => {
  project.dispose();
  discard(applied);
});

describe("datasets made by a factory", () => {
  it("changing one call's argument rebuilds that one dataset", () => {
    project.edit("pipelines/regional.ts", `regionalRevenue("us", 3)`, `regionalRevenue("us", 4)`);
    expect(withEnv({ TAX_RATE: "0.1" }, () => planJson(project, "--as-of", AS_OF)).tasks).toEqual(tasks("us_revenue", "code-changed", DAYS));
  });

  it("editing the factory rebuilds every dataset it makes; comments do not count", () => {
    project.edit("pipelines/regional.ts", "// One dataset per region, each with its own rate.", "// Per region.");
    expect(ok(plan())).toBe(`No changes. 4 datasets up to date as of 2024-01-03T00:00:00.000Z.\n`);
    project.edit("pipelines/regional.ts", "* rate * TAX", "* rate * TAX * 2");
    expect(withEnv({ TAX_RATE: "0.1" }, () => planJson(project, "--as-of", AS_OF)).tasks).toEqual([
      ...tasks("eu_revenue", "code-changed", DAYS),
      ...tasks("us_revenue", "code-changed", DAYS),
    ]);
  });
});

describe("dependsOnEnv", () => {
  it("a changed value rebuilds the dataset, and plan names the variable, never the value", () => {
    const changed = withEnv({ TAX_RATE: "0.25" }, () => project.reflow("plan", "--as-of", AS_OF));
    expect(changed.stderr).toBe("");
    expect(changed.stdout).toContain(["What changed since the live partitions were built:", "  taxed:", "    environment variable TAX_RATE changed", ""].join("\n"));
    expect(changed.stdout).toContain("taxed: 2024-01-01 … 2024-01-02 (2 partitions) code-changed");
    expect(changed.stdout).not.toMatch(/0\.25|0\.1/);
  });

  it("an undeclared process.env read is a warning naming file, line and variable, on stderr and in --json", () => {
    project.edit("pipelines/taxed.ts", `  dependsOnEnv: ["TAX_RATE"],\n`, "");
    const message = "pipelines/taxed.ts:10: taxed reads process.env.TAX_RATE, which is not in dependsOnEnv; changing it will not be detected";
    const human = plan();
    expect(human.stderr).toBe(`warning: ${message}\n`);
    const json = JSON.parse(plan("--json").stdout) as { warnings: unknown };
    expect(json.warnings).toEqual([{ code: "REFLOW_UNDECLARED_ENV", message, file: "pipelines/taxed.ts", line: 10, dataset: "taxed" }]);
    const applied = withEnv({ TAX_RATE: "0.1" }, () => project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect([applied.status, applied.stderr]).toEqual([0, `warning: ${message}\n`]);
  });
});

describe("the plan's diff", () => {
  it("shows, per dataset changed directly, a unified diff of the code that changed since its partitions were built", () => {
    project.write("pipelines/lib/tax.ts", "/** Tax multiplier. */\nexport const TAX = 1.5;\n");
    const diff = (dataset: string) => [
      `  ${dataset}:`,
      "    --- pipelines/lib/tax.ts TAX (as built)",
      "    +++ pipelines/lib/tax.ts TAX (now)",
      "    @@ -1,1 +1,1 @@",
      "    -const TAX = 1;",
      "    +const TAX = 1.5;",
    ];
    const output = ok(plan());
    expect(output).toContain(["What changed since the live partitions were built:", ...diff("eu_revenue"), ...diff("us_revenue"), "", "Partitions to build:"].join("\n"));
    const json = JSON.parse(ok(plan("--json"))) as { diffs: { dataset: string; parts: { file: string; name: string; change: string }[] }[] };
    expect(json.diffs.map((d) => [d.dataset, d.parts.map((p) => `${p.file} ${p.name} ${p.change}`)])).toEqual([
      ["eu_revenue", ["pipelines/lib/tax.ts TAX changed"]],
      ["us_revenue", ["pipelines/lib/tax.ts TAX changed"]],
    ]);
  });
});
