import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { isReflowError } from "@reflow/core";
import { loadPipelines, loadProjectConfig } from "../src/index.js";

const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), "../../../..");

function project(source: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reflow-load-"));
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  writeFileSync(path.join(dir, "package.json"), `{ "type": "module" }\n`);
  mkdirSync(path.join(dir, "pipelines"));
  writeFileSync(path.join(dir, "pipelines/events.ts"), source);
  return dir;
}

const EVENTS = (value: number) => `import { source } from "@reflow/core";
import { z } from "zod";
export const events = source("events", { schema: z.object({ n: z.number() }), read: () => [{ n: ${value} }] });
`;

// Found by the differential test: a second compile in one process imported cached
// modules, which do not run again, saw no declarations and planned to forget every dataset.
it("gives the same declarations when an unchanged project is loaded again in one process", async () => {
  const dir = project(EVENTS(1));
  const first = await loadPipelines(loadProjectConfig(dir));
  const second = await loadPipelines(loadProjectConfig(dir));
  expect(first.declarations.map((d) => d.name)).toEqual(["events"]);
  expect(second.declarations).toEqual(first.declarations);
});

it("refuses to load a changed module again in one process, rather than miss its declarations", async () => {
  const dir = project(EVENTS(1));
  await loadPipelines(loadProjectConfig(dir));
  writeFileSync(path.join(dir, "pipelines/events.ts"), EVENTS(2));
  const error = await loadPipelines(loadProjectConfig(dir)).catch((e: unknown) => e);
  expect(isReflowError(error) && { code: error.code, message: error.message.replace(`${dir}/`, "") }).toEqual({
    code: "REFLOW_MODULE_LOAD_FAILED",
    message:
      "pipelines/events.ts was already loaded by this process, by a load that failed or saw other files or contents: ES modules cannot be loaded again, so compile the project in a new process",
  });
});
