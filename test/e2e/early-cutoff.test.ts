import { afterAll, describe, expect, it } from "vitest";
import { noChanges, ok, rowsOf, withoutClock, withoutElapsed } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, fixtureFiles, REVENUE_ROWS, REVENUE_TOTAL_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

const APPLY = ["apply", "--yes", "--as-of", AS_OF];
const outcomes = (project: TempProject, runId: number) =>
  project.query<{ dataset: string; partition: string; status: string }>(
    `select dataset, partition, status from tasks where run_id = ${runId} order by id`,
    ".reflow/state.db",
  );

describe("early cutoff: a rebuild whose output is unchanged stops the ripple", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("a refactor of a source that changes code but not output rebuilds the source only", () => {
    ok(project.reflow(...APPLY));
    project.edit("pipelines/events.ts", "const day = Number(partition.key.slice(8, 10));", "const day = parseInt(partition.key.slice(-2), 10);");
    const stdout = ok(project.reflow(...APPLY));
    expect(stdout).toContain("\nAffected downstream (rebuilt unless what they read comes out unchanged):\n  ↳ active_users (reads events)\n  ↳ revenue (reads events)\n  ↳ revenue_total (reads revenue)\n");
    expect(withoutElapsed(stdout)).toMatch(
      /\nApply complete: 5 partitions built, 17 rows written; 11 left as they were: what they read came out unchanged \(run #2, <elapsed>\)\.\n$/,
    );
    expect(outcomes(project, 2).filter((t) => t.status === "succeeded").map((t) => t.dataset)).toEqual(["events", "events", "events", "events", "events"]);
    expect(outcomes(project, 2).filter((t) => t.status === "unchanged")).toHaveLength(11);
    // Nothing downstream is stale now, and the rows are those of a clean build.
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
    expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    expect(rowsOf(project, "revenue_total")).toEqual(REVENUE_TOTAL_ROWS);
    expect(withoutClock(ok(project.reflow("status", "--as-of", AS_OF)))).toContain("\nactive_users   dataset           5      5         0       0        0  #2 <time>: 0 built, 5 unchanged\n");
  });

  it("a change to one day's input rebuilds exactly what that day's changed output reaches", () => {
    // Bob spends 100 on 2024-01-03: events changes everywhere in code, in output only on that day.
    project.edit("pipelines/events.ts", '{ user_id: "bob", amount: day }', '{ user_id: "bob", amount: day === 3 ? 100 : day }');
    const stdout = ok(project.reflow(...APPLY));
    expect(withoutElapsed(stdout)).toMatch(
      /\nApply complete: 8 partitions built, 20 rows written; 8 left as they were: what they read came out unchanged \(run #3, <elapsed>\)\.\n$/,
    );
    expect(outcomes(project, 3).filter((t) => t.status === "succeeded" && t.dataset !== "events")).toEqual([
      { dataset: "active_users", partition: "2024-01-03", status: "succeeded" },
      { dataset: "revenue", partition: "2024-01-03", status: "succeeded" },
      { dataset: "revenue_total", partition: "*", status: "succeeded" },
    ]);
    // active_users 2024-01-03 was rebuilt (its input changed) with the same output: nothing reads it, so that is the end.
    expect(rowsOf(project, "revenue").find((r) => r._partition === "2024-01-03")).toEqual({ _partition: "2024-01-03", day: "2024-01-03", total: 2 * (30 + 100 + 1) });
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });

  it("a later code change to a skipped reader still rebuilds it (its live version is the one built before)", () => {
    project.edit("pipelines/lib/helpers.ts", "return id.toUpperCase();", "return id.toLowerCase();");
    const stdout = ok(project.reflow(...APPLY));
    expect(withoutElapsed(stdout)).toMatch(/\nApply complete: 5 partitions built, 5 rows written \(run #4, <elapsed>\)\.\n$/);
    expect(rowsOf(project, "active_users").map((r) => r.names)).toEqual(["alice,bob", "alice,bob,carol", "alice,bob", "alice,bob,carol", "alice,bob"]);
  });
});
