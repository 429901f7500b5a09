import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ok, type PlanJson } from "../support/e2e.js";
import { AS_OF, fixtureFiles } from "../support/fixture.js";
import { REPO_ROOT, TempProject, type CliResult } from "../support/temp-project.js";

/*
 * The CLI loads a project's pipeline modules as one esbuild bundle when that is
 * exact (cli/bin/pipelines-bundle.mjs), and through tsx file by file otherwise.
 * Both ways must give the same declarations, so the same plans and the same errors.
 */
const projects: TempProject[] = [];
afterEach(() => {
  for (const project of projects.splice(0)) project.dispose();
});

function project(files: Record<string, string>): TempProject {
  const created = new TempProject(files);
  projects.push(created);
  return created;
}

/** The bundles written under .reflow/cache/pipelines (each with its map, named in its last line, beside it). */
function bundles(project: TempProject): string[] {
  const dir = path.join(project.dir, ".reflow/cache/pipelines");
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const mjs = files.filter((file) => file.endsWith(".mjs"));
  for (const file of mjs) {
    const map = /\/\/# sourceMappingURL=([0-9a-f]{24}\.map)\n$/.exec(readFileSync(path.join(dir, file), "utf8"))?.[1];
    expect(map && files.includes(map), file).toBe(true);
  }
  return mjs;
}

/** Runs the command with the pipelines bundle on (the default) and off; both results must be equal. */
function bothWays(project: TempProject, ...args: string[]): CliResult {
  const bundled = project.reflow(...args);
  process.env.REFLOW_PIPELINES_BUNDLE = "0";
  try {
    expect(project.reflow(...args)).toEqual(bundled);
  } finally {
    delete process.env.REFLOW_PIPELINES_BUNDLE;
  }
  return bundled;
}

describe("loading the pipeline modules as one bundle", () => {
  it("gives the same plan, code diffs and declaration sites as loading each file, and reuses the bundle while nothing changes", () => {
    const fixture = project(fixtureFiles());
    ok(fixture.reflow("apply", "--yes", "--as-of", AS_OF));
    expect(bundles(fixture)).toHaveLength(1);
    fixture.edit("pipelines/lib/helpers.ts", "return cents * RATE;", "return cents * RATE * 1;");
    fixture.edit("pipelines/revenue.ts", "total += event.amount;", "total += event.amount * 1;");
    const plan = bothWays(fixture, "plan", "--json", "--as-of", AS_OF);
    expect(plan.status).toBe(0);
    expect(new Set((JSON.parse(plan.stdout) as PlanJson).tasks.map((task) => `${task.dataset} ${task.reason}`))).toEqual(
      new Set(["revenue code-changed", "revenue_total upstream-changed"]),
    );
    expect(bundles(fixture)).toHaveLength(2);
    // Where each dataset is declared, as the compiler found it.
    const lineage = bothWays(fixture, "lineage", "--format", "json");
    expect(lineage.stdout).toContain('"definedAt": "pipelines/revenue.ts:6"');
    expect(bundles(fixture)).toHaveLength(2);
  });

  it("an error a declaration raises names the same file, line and column either way", () => {
    const broken = project(fixtureFiles());
    broken.edit("pipelines/revenue.ts", 'dataset("revenue"', 'dataset("Revenue"');
    const result = bothWays(broken, "plan", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'error REFLOW_INVALID_DECLARATION: pipelines/revenue.ts:6:24: dataset "Revenue": name must be lower_snake_case (letters, digits, _; starting with a letter) so it can be a table name, got "Revenue"\n',
    );
  });

  it("a module that throws while it is imported fails the same way, from its own file", () => {
    const throwing = project(fixtureFiles());
    throwing.write("pipelines/zz-throws.ts", 'export const x = 1;\nthrow new Error("boom at import");\n');
    const result = bothWays(throwing, "plan", "--as-of", AS_OF);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("pipelines/zz-throws.ts:2:7: failed to load pipeline module: boom at import");
    expect(bundles(throwing)).toEqual([]);
  });

  it("a module that reads import.meta is imported from its own file, not bundled", () => {
    const located = project(fixtureFiles());
    located.write(
      "pipelines/where.ts",
      'if (!import.meta.url.endsWith("/pipelines/where.ts")) throw new Error(`loaded from ${import.meta.url}`);\nexport const here = import.meta.url;\n',
    );
    const result = bothWays(located, "plan", "--as-of", AS_OF);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(bundles(located)).toEqual([]);
  });

  it('a package.json with "sideEffects": false drops no pipeline file from the bundle', () => {
    const pure = project(fixtureFiles());
    pure.write("package.json", `${JSON.stringify({ name: "pure", private: true, type: "module", sideEffects: false })}\n`);
    const plan = bothWays(pure, "plan", "--json", "--as-of", AS_OF);
    expect(plan.status).toBe(0);
    const datasets = (JSON.parse(plan.stdout) as PlanJson).datasets;
    expect(datasets.map((d) => `${d.name} ${d.change}`).sort()).toEqual(["active_users added", "events added", "revenue added", "revenue_total added"]);
    expect(bundles(pure)).toHaveLength(1);
  });

  /** The fixture with `files` added and imported by revenue.ts: plans the same both ways, and returns the bundles written. */
  function withImported(files: Record<string, string>, imported: string): string[] {
    const changed = project(fixtureFiles());
    for (const [file, text] of Object.entries(files)) changed.write(file, text);
    changed.edit("pipelines/revenue.ts", 'import { applyRate } from "./lib/helpers.js";', `import { applyRate } from "./lib/helpers.js";\n${imported}`);
    const plan = bothWays(changed, "plan", "--json", "--as-of", AS_OF);
    expect(plan.stderr).toBe("");
    expect(plan.status).toBe(0);
    return bundles(changed);
  }

  it("a module that imports another package is bundled, that package loaded as under tsx", () => {
    const colour = { "pipelines/lib/colour.ts": 'import pc from "picocolors";\nexport const label = (text: string): string => pc.bold(text);\n' };
    expect(withImported(colour, 'import { label } from "./lib/colour.js";\nlabel("revenue");')).toHaveLength(1);
  });

  it("a module that imports a subpath of zod is bundled, with the CommonJS build the CLI loads", () => {
    // `zod` itself is renamed by an alias, a subpath by a round trip to the CLI: both the one build.
    const v4 = { "pipelines/lib/v4.ts": 'import { z } from "zod/v4";\nimport { z as root } from "zod";\nexport const sameZod = z.string === root.string;\n' };
    expect(withImported(v4, 'import { sameZod } from "./lib/v4.js";\nif (!sameZod) throw new Error("two zods");')).toHaveLength(1);
  });

  it("modules that import each other in a cycle are imported from their own files, not bundled", () => {
    const cycle = { "pipelines/lib/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n', "pipelines/lib/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n' };
    expect(withImported(cycle, 'import "./lib/a.js";')).toEqual([]);
  });

  it("a module with a top-level await is imported from its own file, not bundled", () => {
    expect(withImported({ "pipelines/lib/later.ts": "export const ready = await Promise.resolve(1);\n" }, 'import "./lib/later.js";')).toEqual([]);
  });

  it("a module that imports another at run time is imported from its own file, not bundled", () => {
    const dynamic = project(fixtureFiles());
    dynamic.write("pipelines/lib/later.ts", "export const later = 1;\n");
    dynamic.write("pipelines/lazy.ts", 'export const load = () => import("./lib/later.js");\n');
    const result = bothWays(dynamic, "plan", "--as-of", AS_OF);
    expect(result.status).toBe(0);
    expect(bundles(dynamic)).toEqual([]);
  });
});

describe("the pipelines bundle, imported in this process", () => {
  interface Importer {
    importAll(files: readonly string[], projectDir: string): Promise<boolean>;
  }
  type ImporterFactory = (options: { esbuild: () => unknown; entries: Record<string, string>; registerHooks: () => Promise<void> }) => Importer & {
    startEarly(projectDir: string): void;
  };

  /** The importer as the CLI makes it, run in `project`'s folder, counting esbuild builds and tsx hook registrations. */
  async function bundleImporter(project: TempProject) {
    const at = (file: string) => pathToFileURL(path.join(REPO_ROOT, "cli/bin", file)).href;
    const { pipelinesBundleImporter } = (await import(at("pipelines-bundle.mjs"))) as { pipelinesBundleImporter: ImporterFactory };
    const { esbuild } = (await import(at("cli-bundle.mjs"))) as { esbuild: () => { build(options: unknown): Promise<unknown> } };
    const counts = { builds: 0, hookRegistrations: 0 };
    const counted = () => ({ ...esbuild(), build: (options: unknown) => (counts.builds++, esbuild().build(options)) });
    const importer = pipelinesBundleImporter({ esbuild: counted, entries: {}, registerHooks: async () => void counts.hookRegistrations++ });
    // The CLI runs in the project: the tsconfig that applies is looked for from there.
    const inProject = async <T>(run: () => Promise<T>): Promise<T> => {
      const cwd = process.cwd();
      process.chdir(project.dir);
      try {
        return await run();
      } finally {
        process.chdir(cwd);
      }
    };
    return {
      counts,
      startEarly: () => inProject(async () => importer.startEarly(project.dir)),
      importAll: (files: readonly string[]) => inProject(() => importer.importAll(files.map((file) => path.join(project.dir, file)), project.dir)),
    };
  }

  /** Bundles and imports `files` in this process, counting how often tsx's hooks were asked for. */
  async function importBundled(files: Record<string, string>): Promise<{ imported: boolean; hookRegistrations: number }> {
    const importer = await bundleImporter(project(files));
    const imported = await importer.importAll(Object.keys(files));
    return { imported, hookRegistrations: importer.counts.hookRegistrations };
  }

  it("are not registered for modules that import no other package (esbuild's own helpers are no package)", async () => {
    // keepNames makes the bundle call esbuild's __name helper, which the metafile lists as an import of "<runtime>".
    const named = { "pipelines/named.ts": "export function named(): number {\n  return 1;\n}\nexport class Named {}\n" };
    expect(await importBundled(named)).toEqual({ imported: true, hookRegistrations: 0 });
  });

  it("are registered before a module that imports another package is loaded", async () => {
    const colour = { "pipelines/colour.ts": 'import pc from "picocolors";\nexport const label = (text: string): string => pc.bold(text);\n' };
    expect(await importBundled(colour)).toEqual({ imported: true, hookRegistrations: 1 });
  });

  it("is built early, while the CLI starts, from the files the last load imported, and used unless one of them changed since", async () => {
    const marker = Symbol.for("reflow.test.earlyBundle");
    const seen = () => (globalThis as Record<symbol, unknown>)[marker];
    const files = { "pipelines/a.ts": 'import { b } from "./lib/b.js";\n(globalThis as Record<symbol, unknown>)[Symbol.for("reflow.test.earlyBundle")] = b;\n', "pipelines/lib/b.ts": 'export const b = "first";\n' };
    const created = project(files);
    const first = await bundleImporter(created);
    // Nothing loaded yet: nothing to build early.
    await first.startEarly();
    expect(await first.importAll(["pipelines/a.ts", "pipelines/lib/b.ts"])).toBe(true);
    expect(first.counts.builds).toBe(1);
    expect(seen()).toBe("first");

    // A new process (a new importer), same files: the early build is the one imported.
    const unchanged = await bundleImporter(created);
    await unchanged.startEarly();
    expect(await unchanged.importAll(["pipelines/a.ts", "pipelines/lib/b.ts"])).toBe(true);
    expect(unchanged.counts.builds).toBe(1);

    // A file imported by a pipeline changes after the early build read it: built again.
    const edited = await bundleImporter(created);
    await edited.startEarly();
    await new Promise((resolve) => setTimeout(resolve, 500));
    created.write("pipelines/lib/b.ts", 'export const b = "second";\n');
    expect(await edited.importAll(["pipelines/a.ts", "pipelines/lib/b.ts"])).toBe(true);
    expect(edited.counts.builds).toBe(2);
    expect(seen()).toBe("second");

    // Other files than the last load's: the early build is not used.
    created.write("pipelines/c.ts", "export const c = 1;\n");
    const more = await bundleImporter(created);
    await more.startEarly();
    expect(await more.importAll(["pipelines/a.ts", "pipelines/c.ts", "pipelines/lib/b.ts"])).toBe(true);
    expect(more.counts.builds).toBe(2);
  });
});
