import { afterAll, describe, expect, it } from "vitest";
import { withEnv } from "../support/e2e.js";
import { fixtureFiles } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

// No server needed: these are the errors a user sees before any server answers.
describe("PostgreSQL settings in reflow.yaml", () => {
  const project = new TempProject({
    ...fixtureFiles(),
    "reflow.yaml": 'concurrency: 2\nstate: { type: postgres, url: "${REFLOW_E2E_PG_URL}" }\nwarehouse: { type: postgres, url: "${REFLOW_E2E_PG_URL}", schema: marts }\n',
  });
  afterAll(() => project.dispose());

  it("names the file, line and variable when a URL's environment variable is unset", () => {
    expect(project.reflow("plan", "--as-of", "2024-01-06")).toEqual({
      status: 1,
      stdout: "",
      stderr: "error REFLOW_CONFIG_INVALID: reflow.yaml:2:31: state.url: environment variable REFLOW_E2E_PG_URL is not set\n",
    });
  });

  it("reports a server that does not answer without printing the password", () => {
    const result = withEnv({ REFLOW_E2E_PG_URL: "postgres://app:hunter2@127.0.0.1:1/analytics" }, () => project.reflow("apply", "--yes", "--as-of", "2024-01-06"));
    expect(result).toEqual({
      status: 1,
      stdout: "",
      stderr: "error REFLOW_STORAGE_UNAVAILABLE: state: cannot use PostgreSQL at postgres://app:***@127.0.0.1:1/analytics: connect ECONNREFUSED 127.0.0.1:1\n",
    });
  });
});
