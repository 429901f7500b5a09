import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteReadOnly } from "@reflow/state";

export const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), "../../..");
const CLI = path.join(REPO_ROOT, "cli/bin/reflow.js");

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A throwaway reflow project in the OS temp folder. Its node_modules links to
 * the repository's, so pipeline modules import @reflow/core and zod as a
 * user's project would.
 */
export class TempProject {
  readonly dir: string;

  /** `parent`: the folder to create it in (default: the OS temp folder). */
  constructor(files: Record<string, string> = {}, parent = os.tmpdir()) {
    this.dir = mkdtempSync(path.join(parent, "reflow-e2e-"));
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(this.dir, "node_modules"), "dir");
    this.write("package.json", `${JSON.stringify({ name: "reflow-e2e-project", private: true, type: "module" }, null, 2)}\n`);
    for (const [file, text] of Object.entries(files)) this.write(file, text);
  }

  write(file: string, text: string): void {
    const full = path.join(this.dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, text);
  }

  read(file: string): string {
    return readFileSync(path.join(this.dir, file), "utf8");
  }

  /** Replaces exactly one occurrence of `from` in a file; fails loudly if it is not there once. */
  edit(file: string, from: string, to: string): void {
    const text = this.read(file);
    const count = text.split(from).length - 1;
    if (count !== 1) throw new Error(`expected exactly one ${JSON.stringify(from)} in ${file}, found ${count}`);
    this.write(file, text.replace(from, to));
  }

  remove(file: string): void {
    rmSync(path.join(this.dir, file), { force: true });
  }

  /** Runs the real CLI in the project folder, without a terminal, colours off. */
  reflow(...args: string[]): CliResult {
    const result = spawnSync(process.execPath, [CLI, ...args], {
      cwd: this.dir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      timeout: 120_000,
    });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** Rows of a SQL query against the project's warehouse. */
  query<T = Record<string, unknown>>(sql: string, file = ".reflow/warehouse.db"): T[] {
    const db = openSqliteReadOnly(path.join(this.dir, file));
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }

  /**
   * A digest of every file under .reflow/ except the fingerprint cache: equal
   * digests mean state and warehouse were not touched.
   */
  storageDigest(): string {
    const root = path.join(this.dir, ".reflow");
    if (!existsSync(root)) return "absent";
    const hash = createHash("sha256");
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir).sort()) {
        const full = path.join(dir, entry);
        if (path.relative(root, full) === "cache") continue;
        if (statSync(full).isDirectory()) walk(full);
        else hash.update(`${path.relative(root, full)}\n`).update(readFileSync(full));
      }
    };
    walk(root);
    return hash.digest("hex");
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
