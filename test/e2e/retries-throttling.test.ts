import { afterAll, describe, expect, it } from "vitest";
import { locate, ok, rowsOf, withEnv, withoutElapsed } from "../support/e2e.js";
import { AS_OF, DAYS, fixtureFiles, REVENUE_ROWS } from "../support/fixture.js";
import { TempProject } from "../support/temp-project.js";

const APPLY = ["apply", "--yes", "--as-of", AS_OF];

/** events' read fails for 2024-01-02 until the attempt named in FAIL_UNTIL; other days succeed. */
const flakyEvents = (retries: string, failure = 'new Error("connection reset")') =>
  (project: TempProject) => {
    project.edit("pipelines/events.ts", 'import { daily, source } from "@reflow/core";', 'import { daily, PermanentError, source } from "@reflow/core";\nlet attempts = 0;');
    project.edit(
      "pipelines/events.ts",
      "  read: ({ partition }) => {\n",
      `${retries}  ignoreEnv: ["FAIL_UNTIL"],\n  read: ({ partition }) => {\n    if (partition.key === "2024-01-02" && ++attempts < Number(process.env.FAIL_UNTIL ?? 0)) throw ${failure};\n`,
    );
  };

const attemptsOf = (project: TempProject) =>
  project.query<{ attempt: number; error: string }>("select attempt, error from task_attempts order by task_id, attempt", ".reflow/state.db");

describe("retries", () => {
  it("a transient failure is retried with exponential backoff; each failed attempt is recorded", () => {
    const project = new TempProject(fixtureFiles());
    try {
      flakyEvents('  retries: { attempts: 3, backoff: "exponential", initialDelayMs: 100 },\n')(project);
      const at = locate(project, "pipelines/events.ts", "new Error(");
      const result = spawnWith(project, { FAIL_UNTIL: "3" }, ...APPLY);
      const error = `REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-02: read threw at ${at}: connection reset`;
      expect(result.stderr).toBe(
        [`retrying events 2024-01-02 (attempt 2 of 3) in 0.1s after: ${error}`, `retrying events 2024-01-02 (attempt 3 of 3) in 0.2s after: ${error}`, ""].join("\n"),
      );
      expect(withoutElapsed(result.stdout)).toMatch(/\nApply complete: 16 partitions built, 28 rows written \(run #1, <elapsed>\)\.\n$/);
      expect(attemptsOf(project)).toEqual([
        { attempt: 1, error },
        { attempt: 2, error },
      ]);
      expect(project.query("select partition, attempts from tasks where dataset = 'events' order by partition", ".reflow/state.db")).toEqual(
        DAYS.map((partition) => ({ partition, attempts: partition === "2024-01-02" ? 3 : 1 })),
      );
      expect(rowsOf(project, "revenue")).toEqual(REVENUE_ROWS);
    } finally {
      project.dispose();
    }
  });

  it("when every attempt fails, the task fails once with the last error and the number of attempts", () => {
    const project = new TempProject(fixtureFiles());
    try {
      flakyEvents('  retries: { attempts: 2, backoff: "fixed", initialDelayMs: 10 },\n')(project);
      const at = locate(project, "pipelines/events.ts", "new Error(");
      const result = spawnWith(project, { FAIL_UNTIL: "99" }, ...APPLY);
      expect(result.status).toBe(1);
      const error = `REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-02: read threw at ${at}: connection reset`;
      expect(withoutElapsed(result.stderr).split("\n").slice(0, 5)).toEqual([
        `retrying events 2024-01-02 (attempt 2 of 2) in 0.0s after: ${error}`,
        "",
        "Apply failed: 12 built, 1 failed, 3 blocked (run #1, <elapsed>).",
        "Failed:",
        `  ${error} (after 2 attempts)`,
      ]);
      expect(attemptsOf(project)).toEqual([{ attempt: 1, error }]);
      expect(project.query("select status, attempts, error from tasks where dataset = 'events' and partition = '2024-01-02'", ".reflow/state.db")).toEqual([
        { status: "failed", attempts: 2, error: `${error} (after 2 attempts)` },
      ]);
    } finally {
      project.dispose();
    }
  });

  it("errors thrown with permanent: true (PermanentError) are not retried; the project default policy comes from reflow.yaml", () => {
    const project = new TempProject({ ...fixtureFiles(), "reflow.yaml": "retries: { attempts: 5, initialDelayMs: 10 }\n" });
    try {
      flakyEvents("", 'new PermanentError("bad credentials")')(project);
      const at = locate(project, "pipelines/events.ts", "new PermanentError(");
      const result = spawnWith(project, { FAIL_UNTIL: "99" }, ...APPLY);
      expect(result.status).toBe(1);
      expect(result.stderr).not.toContain("retrying");
      expect(result.stderr).toContain(`\n  REFLOW_TRANSFORM_FAILED: dataset "events" partition 2024-01-02: read threw at ${at}: PermanentError: bad credentials\n`);
      expect(attemptsOf(project)).toEqual([]);

      // Without `permanent`, the same failure is retried under the project's policy (5 attempts).
      project.edit("pipelines/events.ts", 'new PermanentError("bad credentials")', 'new Error("timeout")');
      const retried = spawnWith(project, { FAIL_UNTIL: "5" }, ...APPLY);
      expect(retried.stderr.split("\n").filter(Boolean).map((line) => line.split(" after:")[0])).toEqual([
        "retrying events 2024-01-02 (attempt 2 of 5) in 0.0s",
        "retrying events 2024-01-02 (attempt 3 of 5) in 0.0s",
        "retrying events 2024-01-02 (attempt 4 of 5) in 0.0s",
        "retrying events 2024-01-02 (attempt 5 of 5) in 0.1s",
      ]);
      expect(retried.status).toBe(0);
    } finally {
      project.dispose();
    }
  });

  it("a bad retries declaration is refused, naming the file, line and dataset", () => {
    const project = new TempProject(fixtureFiles());
    try {
      project.edit("pipelines/events.ts", "  read: ({ partition }) => {\n", "  retries: { attempts: 0 },\n  read: ({ partition }) => {\n");
      expect(project.reflow("plan", "--as-of", AS_OF).stderr).toBe(
        'error REFLOW_INVALID_DECLARATION: pipelines/events.ts:5:23: dataset "events": retries.attempts must be a whole number of at least 1 (the first attempt included), got 0\n',
      );
    } finally {
      project.dispose();
    }
  });
});

/**
 * Every transform logs "start"/"end" lines with a short sleep in between, so
 * the log shows which builds overlapped and in which order they started.
 */
function loggingProject(yaml: string, declarations: Record<string, string> = {}): TempProject {
  const project = new TempProject({ ...fixtureFiles(), "reflow.yaml": yaml });
  project.write(
    "pipelines/lib/trace.ts",
    `import { appendFileSync } from "node:fs";

export async function traced<T>(dataset: string, key: string, work: () => T | Promise<T>): Promise<T> {
  appendFileSync("trace.log", \`start \${dataset} \${key}\\n\`);
  await new Promise((resolve) => setTimeout(resolve, 15));
  try {
    return await work();
  } finally {
    appendFileSync("trace.log", \`end \${dataset} \${key}\\n\`);
  }
}
`,
  );
  const wrap = (file: string, dataset: string, open: string, body: string, extra: string) => {
    project.edit(file, open, `${extra}${open.replace("=> {", `=> traced("${dataset}", partition.key, async () => {`)}`);
    project.edit(file, `${body}\n  },`, `${body}\n  }),`);
    project.edit(file, 'import { z } from "zod";', 'import { z } from "zod";\nimport { traced } from "./lib/trace.js";');
  };
  wrap("pipelines/events.ts", "events", "  read: ({ partition }) => {", "    return rows;", declarations.events ?? "");
  wrap("pipelines/revenue.ts", "revenue", "  transform: async ({ inputs, partition }) => {", "    return [{ day: partition.key, total: applyRate(total) }];", declarations.revenue ?? "");
  wrap("pipelines/active-users.ts", "active_users", "  transform: async ({ inputs, partition }) => {", '    return [{ day: partition.key, users: names.size, names: [...names].sort().join(",") }];', declarations.active_users ?? "");
  return project;
}

/** The most builds of `datasets` that were running at the same moment. */
function peakOverlap(log: string, datasets: readonly string[]): number {
  let running = 0;
  let peak = 0;
  for (const line of log.trim().split("\n")) {
    const [event, dataset] = line.split(" ");
    if (!datasets.includes(dataset!)) continue;
    running += event === "start" ? 1 : -1;
    peak = Math.max(peak, running);
  }
  return peak;
}

const starts = (log: string) =>
  log
    .trim()
    .split("\n")
    .filter((line) => line.startsWith("start "))
    .map((line) => line.slice(6));

describe("throttling", () => {
  it("without limits, builds overlap up to `concurrency`", () => {
    const project = loggingProject("concurrency: 4\n");
    try {
      ok(project.reflow(...APPLY));
      expect(peakOverlap(project.read("trace.log"), ["events"])).toBe(4);
    } finally {
      project.dispose();
    }
  });

  it("maxConcurrency caps one dataset; a pool caps the datasets that share it", () => {
    const project = loggingProject("concurrency: 4\npools: { api: 1 }\n", {
      events: "  maxConcurrency: 2,\n",
      revenue: '  pool: "api",\n',
      active_users: '  pool: "api",\n',
    });
    try {
      expect(withoutElapsed(ok(project.reflow(...APPLY)))).toMatch(/\nApply complete: 16 partitions built, 28 rows written/);
      const log = project.read("trace.log");
      expect(peakOverlap(log, ["events"])).toBe(2);
      expect(peakOverlap(log, ["revenue", "active_users"])).toBe(1);
      expect(starts(log)).toHaveLength(15);
    } finally {
      project.dispose();
    }
  });

  it("an unknown pool is refused at compile time, naming the file, line and dataset", () => {
    const project = loggingProject("pools: { warehouse: 4 }\n", { revenue: '  pool: "api",\n' });
    try {
      expect(project.reflow("plan", "--as-of", AS_OF).stderr).toBe(
        'error REFLOW_UNKNOWN_POOL: pipelines/revenue.ts:7:24: dataset "revenue": pool "api" is not declared in reflow.yaml (pools: warehouse)\n',
      );
    } finally {
      project.dispose();
    }
  });

  it("--order newest-first starts the newest ready partition first; oldest-first the oldest", () => {
    const project = loggingProject("concurrency: 1\n");
    try {
      ok(project.reflow(...APPLY, "--order", "newest-first"));
      const newest = [5, 4, 3, 2, 1].flatMap((d) => [`events 2024-01-0${d}`, `active_users 2024-01-0${d}`, `revenue 2024-01-0${d}`]);
      expect(starts(project.read("trace.log"))).toEqual(newest);

      project.remove("trace.log");
      project.edit("pipelines/lib/rates.ts", "export const RATE = 2;", "export const RATE = 3;");
      project.edit("pipelines/lib/helpers.ts", "return id.toUpperCase();", "return id.toLowerCase();");
      ok(project.reflow(...APPLY, "--order", "oldest-first"));
      const log = starts(project.read("trace.log"));
      // Before planning, apply reads each built source partition once to see whether it changed (shared by both of its plans).
      expect(log.slice(0, 5).sort()).toEqual([1, 2, 3, 4, 5].map((d) => `events 2024-01-0${d}`));
      expect(log.slice(5)).toEqual([1, 2, 3, 4, 5].flatMap((d) => [`active_users 2024-01-0${d}`, `revenue 2024-01-0${d}`]));
    } finally {
      project.dispose();
    }
  });
});

const spawnWith = (project: TempProject, env: Record<string, string>, ...args: string[]) => withEnv(env, () => project.reflow(...args));
