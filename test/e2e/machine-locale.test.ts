import { afterAll, describe, expect, it } from "vitest";
import { noChanges, ok, withEnv } from "../support/e2e.js";
import { AS_OF, AS_OF_ISO, fixtureFiles } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

/*
 * Fingerprints list a dataset's inputs sorted by alias. Sorted by the machine's
 * locale, a teammate under Lithuanian (where `ypsilon` sorts before `kappa`)
 * got other fingerprints than the machine that built the partitions, and a
 * plan that rebuilt them.
 */
const project = new TempProject({
  ...fixtureFiles(),
  "pipelines/combined.ts": `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";
import { revenue } from "./revenue.js";

export const combined = dataset("combined", {
  partitions: daily({ start: "2024-01-01" }),
  inputs: { ypsilon: revenue, kappa: events },
  schema: z.object({ day: z.string() }),
  transform: async ({ partition }) => [{ day: partition.key }],
});
`,
});
afterAll(() => project.dispose());

describe("the machine's locale", () => {
  it("changes no fingerprint: built under English, planned under Lithuanian and Czech, nothing to do", () => {
    withEnv({ LC_ALL: "en_US.UTF-8" }, () => ok(project.reflow("apply", "--yes", "--as-of", AS_OF)));
    for (const locale of ["lt_LT.UTF-8", "cs_CZ.UTF-8"]) {
      expect(withEnv({ LC_ALL: locale }, () => project.reflow("plan", "--as-of", AS_OF))).toEqual({ status: 0, stdout: noChanges(5, AS_OF_ISO), stderr: "" });
    }
  });
});
