import { afterAll, describe, expect, it } from "vitest";
import { ok } from "../support/e2e.js";
import { AS_OF, fixtureFiles } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

describe("reflow status: mixed logic", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());
  const fingerprints = () =>
    project.query<{ fingerprint: string }>(
      "select distinct t.fingerprint from partitions p join tasks t on t.id = p.live_task_id where p.dataset = 'revenue' order by t.id",
      ".reflow/state.db",
    );

  it("shows nothing while every live partition of a dataset comes from one version of its code", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(ok(project.reflow("status", "--as-of", AS_OF))).not.toContain("Mixed logic");
  });

  it("after a partial apply, lists each version of the code with the partitions built by it", () => {
    const [old] = fingerprints();
    project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF, "--max-tasks", "3"));
    const [, current] = fingerprints();
    expect(ok(project.reflow("status", "--as-of", AS_OF))).toContain(
      [
        "",
        "Mixed logic: live partitions built by different versions of the code (`reflow plan` lists what rebuilds them):",
        "  revenue:",
        `    ${current!.fingerprint.slice(0, 8)} (current code): 3 partitions (2024-01-01 … 2024-01-03)`,
        `    ${old!.fingerprint.slice(0, 8)}: 2 partitions (2024-01-04 … 2024-01-05)`,
        "",
      ].join("\n"),
    );
    const json = JSON.parse(ok(project.reflow("status", "--json", "--as-of", AS_OF))) as { name: string; mixedLogic?: unknown }[];
    expect(json.find((s) => s.name === "revenue")!.mixedLogic).toEqual([
      { fingerprint: current!.fingerprint, current: true, partitions: 3, ranges: [{ first: "2024-01-01", last: "2024-01-03", count: 3 }] },
      { fingerprint: old!.fingerprint, current: false, partitions: 2, ranges: [{ first: "2024-01-04", last: "2024-01-05", count: 2 }] },
    ]);
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(ok(project.reflow("status", "--as-of", AS_OF))).not.toContain("Mixed logic");
  });
});
