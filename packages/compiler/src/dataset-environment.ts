import { createHash } from "node:crypto";
import path from "node:path";
import type { DatasetDeclaration } from "@reflow/core";
import type { EnvReadAt } from "./code-fingerprinter.js";
import type { CompileWarning } from "./compiled-project.js";

/**
 * A hash of each declared variable's value (null when unset, which differs
 * from empty). Only the hash enters state, so a secret is never written down;
 * it is salted with the name so equal values of two variables do not show as equal.
 */
export function environmentHashes(variables: readonly string[], env: NodeJS.ProcessEnv = process.env): Readonly<Record<string, string | null>> {
  return Object.fromEntries(
    variables.map((variable) => {
      const value = env[variable];
      return [variable, value === undefined ? null : createHash("sha256").update(`reflow-env\0${variable}\0${value}`).digest("hex").slice(0, 16)];
    }),
  );
}

/** `process.env` reads in a dataset's code that `dependsOnEnv` does not cover: their changes would go unseen. */
export function undeclaredEnvReads(
  declaration: Pick<DatasetDeclaration, "name" | "dependsOnEnv" | "ignoreEnv">,
  reads: readonly EnvReadAt[],
  projectDir: string,
): CompileWarning[] {
  const declared = new Set([...declaration.dependsOnEnv, ...declaration.ignoreEnv]);
  return reads
    .filter((read) => !declared.has(read.name))
    .map((read) => {
      const what = read.name === "*" ? "process.env with a name computed at run time, which dependsOnEnv cannot name" : `process.env.${read.name}, which is not in dependsOnEnv`;
      return Object.freeze({
        code: "REFLOW_UNDECLARED_ENV" as const,
        message: `${read.file}:${read.line}: ${declaration.name} reads ${what}; changing it will not be detected`,
        location: Object.freeze({ file: path.join(projectDir, read.file), line: read.line }),
        subject: declaration.name,
      });
    });
}
