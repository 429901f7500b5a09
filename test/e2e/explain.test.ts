import { afterAll, describe, expect, it } from "vitest";
import { ok } from "../support/e2e.js";
import { AS_OF, fixtureFiles } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

describe("reflow explain DATASET PARTITION", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());
  const explain = (...args: string[]) => project.reflow("explain", ...args, "--as-of", AS_OF);

  it("before anything is built: missing, never built", () => {
    expect(ok(explain("revenue", "2024-01-03"))).toBe("revenue 2024-01-03 is in the plan: missing (never built)\n");
  });

  it("up to date: not in the plan, naming the run that built it", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(ok(explain("revenue", "2024-01-03"))).toBe("revenue 2024-01-03 is up to date (built by run #1): it is not in the plan.\n");
  });

  it("follows the chain down to the changed declaration, with its file and line", () => {
    project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
    expect(ok(explain("revenue_total"))).toBe(
      [
        "revenue_total (unpartitioned) is in the plan: upstream-changed (5 input partitions changed; the first is followed)",
        "  ← revenue 2024-01-01: code-changed",
        "  ← pipelines/lib/rates.ts:2 RATE changed",
        "",
      ].join("\n"),
    );
    expect(ok(explain("revenue", "2024-01-04"))).toBe("revenue 2024-01-04 is in the plan: code-changed\n  ← pipelines/lib/rates.ts:2 RATE changed\n");
    // A dataset the change does not reach.
    expect(ok(explain("active_users", "2024-01-04"))).toBe("active_users 2024-01-04 is up to date (built by run #1): it is not in the plan.\n");
  });

  it("names the transform itself and a version bump; --json too", () => {
    project.edit("pipelines/revenue.ts", "return [{ day: partition.key, total: applyRate(total) }];", "return [{ day: partition.key, total: applyRate(total) + 0 }];");
    project.edit("pipelines/revenue.ts", "  inputs: { events },\n", "  inputs: { events },\n  version: 2,\n");
    expect(ok(explain("revenue", "2024-01-02"))).toBe(
      [
        "revenue 2024-01-02 is in the plan: code-changed",
        "  ← pipelines/revenue.ts:6 its transform's code changed",
        "  ← pipelines/lib/rates.ts:2 RATE changed",
        "  ← version 0 → 2",
        "",
      ].join("\n"),
    );
    const json = JSON.parse(ok(explain("revenue", "2024-01-02", "--json")));
    expect(json).toEqual({
      asOf: "2024-01-06T00:00:00.000Z",
      inPlan: true,
      chain: [
        {
          dataset: "revenue",
          partition: "2024-01-02",
          reason: "code-changed",
          changes: [
            { what: "its transform's code changed", file: "pipelines/revenue.ts", line: 6 },
            { what: "RATE changed", file: "pipelines/lib/rates.ts", line: 2 },
            { what: "version 0 → 2" },
          ],
        },
      ],
    });
  });

  it("refuses an unknown dataset or partition, and a partitioned dataset without a partition", () => {
    expect(explain("payments", "2024-01-01").stderr).toBe('error REFLOW_UNKNOWN_DATASET: no dataset named "payments" is declared (declared: events, active_users, revenue, revenue_total)\n');
    expect(explain("revenue", "2024-02-01").stderr).toBe(
      'error REFLOW_INVALID_ARGUMENT: "2024-02-01" is not a partition of "revenue" as of 2024-01-06T00:00:00.000Z (it has 2024-01-01 … 2024-01-05)\n',
    );
    expect(explain("revenue").stderr).toBe('error REFLOW_INVALID_ARGUMENT: dataset "revenue" is partitioned: name a partition (it has 2024-01-01 … 2024-01-05)\n');
  });
});
