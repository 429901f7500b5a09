import { existsSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { noChanges, ok } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, fixtureFiles } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

const OLDER =
  "error REFLOW_STATE_INCOMPATIBLE: .reflow/state.db was written by an older reflow; run `reflow migrate` to upgrade it (`reflow apply` also does)\n";

/** Takes a state back to schema 0008, as a reflow before the dataset summaries left it: their table, triggers and migration row gone. */
function downgradeTo0008(project: TempProject): void {
  const database = new Database(path.join(project.dir, ".reflow/state.db"));
  for (const { name } of database.prepare("select name from sqlite_master where type = 'trigger' and name like 'dataset_summaries_%'").all() as { name: string }[]) {
    database.exec(`drop trigger ${name}`);
  }
  database.exec("drop table dataset_summaries");
  database.prepare("delete from kysely_migration where name = ?").run("0009-dataset-summaries");
  database.close();
}

describe("reflow migrate", () => {
  const project = new TempProject(fixtureFiles());
  afterAll(() => project.dispose());

  it("says there is nothing to migrate before anything was built, and creates no state", () => {
    expect(ok(project.reflow("migrate"))).toBe("There is no state at .reflow/state.db yet: nothing to migrate.\n");
    expect(existsSync(path.join(project.dir, ".reflow/state.db"))).toBe(false);
  });

  it("upgrades a state an older reflow wrote, which plan refuses to read and leaves unchanged; then plans as before", () => {
    ok(project.reflow("apply", "--yes", "--as-of", AS_OF));
    downgradeTo0008(project);
    const before = project.storageDigest();
    expect(project.reflow("plan", "--as-of", AS_OF)).toEqual({ status: 1, stdout: "", stderr: OLDER });
    expect(project.reflow("status", "--as-of", AS_OF)).toEqual({ status: 1, stdout: "", stderr: OLDER });
    expect(project.storageDigest()).toBe(before);

    expect(ok(project.reflow("migrate"))).toBe(
      "Migrated the state at .reflow/state.db to schema 0009-dataset-summaries: 1 migration applied (0009-dataset-summaries).\n",
    );
    expect(ok(project.reflow("migrate"))).toBe("The state at .reflow/state.db is up to date (schema 0009-dataset-summaries).\n");
    expect(ok(project.reflow("plan", "--as-of", AS_OF))).toBe(noChanges(4, AS_OF_ISO));
  });
});
