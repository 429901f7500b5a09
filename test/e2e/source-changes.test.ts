import { afterAll, describe, expect, it } from "vitest";
import { locate, noChanges, ok, planJson, tasks, withoutElapsed } from "../support/e2e.js";
import { TempProject } from "../support/temp-project.js";

const AS_OF = "2024-01-04";
const AS_OF_ISO = "2024-01-04T00:00:00.000Z";

/** A source reading JSON Lines files laid out by day, and a daily count that reads it. */
function fileProject(sourceOptions = ""): TempProject {
  const project = new TempProject({
    "pipelines/orders.ts": `import { readFileSync, statSync } from "node:fs";
import { daily, dataset, source } from "@reflow/core";
import { z } from "zod";

const file = (day: string) => \`data/orders/\${day}.jsonl\`;

export const orders = source("orders", {
  partitions: daily({ start: "2024-01-01" }),
  schema: z.object({ id: z.string(), cents: z.number().int() }),
${sourceOptions}  read: ({ partition }) =>
    readFileSync(file(partition.key), "utf8")
      .split("\\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line)),
});

export const dailyOrders = dataset("daily_orders", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { orders },
  schema: z.object({ day: z.string(), orders: z.number().int(), cents: z.number().int() }),
  transform: async ({ inputs, partition }) => {
    const rows = await inputs.orders.rows();
    return [{ day: partition.key, orders: rows.length, cents: rows.reduce((sum, row) => sum + row.cents, 0) }];
  },
});

`,
  });
  for (const day of ["2024-01-01", "2024-01-02", "2024-01-03"]) project.write(`data/orders/${day}.jsonl`, `{"id":"${day}-a","cents":100}\n{"id":"${day}-b","cents":250}\n`);
  return project;
}

describe("sources that change: late-arriving data", () => {
  const project = fileProject();
  afterAll(() => project.dispose());

  it("a corrected file puts that source partition in the plan (source-changed) and what reads it (upstream-changed)", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(2, AS_OF_ISO));
    project.write("data/orders/2024-01-02.jsonl", '{"id":"2024-01-02-a","cents":100}\n{"id":"2024-01-02-b","cents":250}\n{"id":"2024-01-02-late","cents":5}\n');
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("orders", "source-changed", ["2024-01-02"]), ...tasks("daily_orders", "upstream-changed", ["2024-01-02"])]);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toContain("\nPlan: 2 partitions to build in 2 datasets (1 source-changed, 1 upstream-changed); 0 changed directly.\n");
    expect(ok(project.reflow("explain", "daily_orders", "2024-01-02", "--as-of", AS_OF))).toBe(
      [
        "daily_orders 2024-01-02 is in the plan: upstream-changed",
        "  ← orders 2024-01-02: source-changed (reading it now gives other rows than the live version holds (content hash))",
        "",
      ].join("\n"),
    );
    expect(withoutElapsed(ok(project.reflow("apply", "--yes", "--as-of", AS_OF)))).toMatch(/\nApply complete: 2 partitions built, 4 rows written \(run #2, <elapsed>\)\.\n$/);
    expect(project.query("select day, orders, cents from daily_orders order by day")).toEqual([
      { day: "2024-01-01", orders: 2, cents: 350 },
      { day: "2024-01-02", orders: 3, cents: 355 },
      { day: "2024-01-03", orders: 2, cents: 350 },
    ]);
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(2, AS_OF_ISO));
  });

  it("rows in another order are not a change (the content hash is order-independent)", () => {
    project.write("data/orders/2024-01-03.jsonl", '{"id":"2024-01-03-b","cents":250}\n{"id":"2024-01-03-a","cents":100}\n');
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(2, AS_OF_ISO));
  });

  it("a source partition that cannot be read stops the plan, naming the source, partition and the failing line", () => {
    project.remove("data/orders/2024-01-01.jsonl");
    const result = project.reflow("plan", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `error REFLOW_SOURCE_UNREADABLE: cannot observe source "orders" partition 2024-01-01 for changes: read threw at ${locate(project, "pipelines/orders.ts", "readFileSync(file(")}: ENOENT: no such file or directory, open 'data/orders/2024-01-01.jsonl' (declare observe: false on the source to skip observing it)\n`,
    );
  });
});

describe("sourceVersion(): a cheap version instead of reading", () => {
  const project = fileProject("  sourceVersion: ({ partition }) => String(statSync(file(partition.key)).size),\n");
  afterAll(() => project.dispose());

  it("compares the declared version, not the content", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    // Same size, other content: the version says nothing changed.
    project.write("data/orders/2024-01-01.jsonl", '{"id":"2024-01-01-a","cents":900}\n{"id":"2024-01-01-b","cents":250}\n');
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(2, AS_OF_ISO));
    project.write("data/orders/2024-01-01.jsonl", '{"id":"2024-01-01-a","cents":1900}\n{"id":"2024-01-01-b","cents":250}\n');
    expect(planJson(project, "--as-of", AS_OF).tasks).toEqual([...tasks("orders", "source-changed", ["2024-01-01"]), ...tasks("daily_orders", "upstream-changed", ["2024-01-01"])]);
    expect(ok(project.reflow("explain", "orders", "2024-01-01", "--as-of", AS_OF))).toBe(
      'orders 2024-01-01 is in the plan: source-changed (sourceVersion() now gives "69"; the live version was read at "68")\n',
    );
  });
});

describe("observe: false", () => {
  const project = fileProject("  observe: false,\n");
  afterAll(() => project.dispose());

  it("never reads the source to look for changes", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    project.remove("data/orders/2024-01-01.jsonl");
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(2, AS_OF_ISO));
  });
});
