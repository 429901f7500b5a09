import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import type { StateLocation } from "@reflow/core";
import { openSqliteReadOnly } from "@reflow/state";

export const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), "../../..");
const CLI = path.join(REPO_ROOT, "cli/bin/reflow.js");

/**
 * Which storage the e2e projects use: `REFLOW_TEST_BACKEND=postgres` (the
 * `e2e-postgres` vitest project) puts state and warehouse of each project in
 * schemas of its own, in the database `REFLOW_TEST_PG_DATABASE` names (one per
 * test file, made by test/support/postgres-setup.ts).
 */
export type TestBackend = "sqlite" | "postgres";
export const TEST_BACKEND: TestBackend = process.env.REFLOW_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";
const PG_SYNC = path.join(REPO_ROOT, "test/support/pg-sync.mjs");

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
  readonly backend: TestBackend = TEST_BACKEND;
  /** On PostgreSQL: the project's two schemas, in the test file's database. */
  private readonly schemas = { state: `st_${randomBytes(5).toString("hex")}`, warehouse: `wh_${randomBytes(5).toString("hex")}` };

  /** `parent`: the folder to create it in (default: the OS temp folder). */
  constructor(files: Record<string, string> = {}, parent = os.tmpdir()) {
    this.dir = mkdtempSync(path.join(parent, "reflow-e2e-"));
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(this.dir, "node_modules"), "dir");
    this.write("package.json", `${JSON.stringify({ name: "reflow-e2e-project", private: true, type: "module" }, null, 2)}\n`);
    if (this.backend === "postgres" && !("reflow.yaml" in files)) this.write("reflow.yaml", "");
    for (const [file, text] of Object.entries(files)) this.write(file, text);
  }

  /** Writes a project file; on PostgreSQL, a reflow.yaml without storage keys gets the project's. */
  write(file: string, text: string): void {
    const full = path.join(this.dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, file === "reflow.yaml" ? this.withStorage(text) : text);
  }

  /** Where the state is, as `openStateStore` takes it. */
  get stateLocation(): string | StateLocation {
    return this.backend === "postgres"
      ? { type: "postgres", url: pgDatabaseUrl(), schema: this.schemas.state }
      : path.join(this.dir, ".reflow/state.db");
  }

  private withStorage(text: string): string {
    if (this.backend !== "postgres" || /^(state|warehouse):/m.test(text)) return text;
    // The URL through an environment variable, as a user would keep it out of the file.
    return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}state: { type: postgres, url: "\${REFLOW_TEST_PG_DATABASE}", schema: ${this.schemas.state} }
warehouse: { type: postgres, url: "\${REFLOW_TEST_PG_DATABASE}", schema: ${this.schemas.warehouse} }
`;
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

  /**
   * Rows of a SQL query against the project's warehouse (or, given
   * `.reflow/state.db`, its state). On PostgreSQL the values come back as
   * SQLite returns them (json as text, booleans as 0/1), so one expectation
   * holds for both.
   */
  query<T = Record<string, unknown>>(sql: string, file = ".reflow/warehouse.db"): T[] {
    if (this.backend === "postgres") return pgSync({ op: "query", url: pgDatabaseUrl(), schema: this.schemaOf(file), sql }) as T[];
    const db = openSqliteReadOnly(path.join(this.dir, file));
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }

  /** Runs SQL statements that change the project's warehouse (or state): to fake what a crash leaves. */
  exec(sql: string, file = ".reflow/warehouse.db"): void {
    if (this.backend === "postgres") {
      pgSync({ op: "exec", url: pgDatabaseUrl(), schema: this.schemaOf(file), sql });
      return;
    }
    const db = new Database(path.join(this.dir, file));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }

  /**
   * A digest of every file under .reflow/ except the fingerprint cache: equal
   * digests mean state and warehouse were not touched.
   */
  storageDigest(): string {
    if (this.backend === "postgres") {
      const dump = pgSync({ op: "digest", url: pgDatabaseUrl(), schemas: [this.schemas.state, this.schemas.warehouse] }) as string;
      return createHash("sha256").update(dump).digest("hex");
    }
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

  /** Deletes state and warehouse (not the fingerprint cache's folder): the project as if never applied. */
  resetStorage(): void {
    if (this.backend === "postgres") this.dropSchemas();
    else rmSync(path.join(this.dir, ".reflow"), { recursive: true, force: true });
  }

  private dropSchemas(): void {
    pgSync({ op: "exec", url: pgDatabaseUrl(), sql: `drop schema if exists ${this.schemas.state}, ${this.schemas.warehouse} cascade` });
  }

  /**
   * On PostgreSQL, saves the project's schemas into a checkpoint folder
   * (pg_dump), as copying .reflow/ saves a SQLite project's storage.
   */
  saveStorage(dir: string): void {
    if (this.backend !== "postgres") return;
    run("pg_dump", ["--dbname", pgDatabaseUrl(), "--no-owner", "-n", this.schemas.state, "-n", this.schemas.warehouse, "-f", path.join(dir, "postgres.sql")]);
  }

  /** Puts back the schemas `saveStorage` saved in `dir`, replacing what is there now. */
  restoreStorage(dir: string): void {
    if (this.backend !== "postgres") return;
    this.dropSchemas();
    run("psql", ["--dbname", pgDatabaseUrl(), "-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", path.join(dir, "postgres.sql")]);
  }

  /** The names of the warehouse's views (one per dataset), sorted. */
  views(): string[] {
    const sql =
      this.backend === "postgres"
        ? "select table_name as name from information_schema.views where table_schema = current_schema() order by table_name"
        : "select name from sqlite_master where type = 'view' order by name";
    return this.query<{ name: string }>(sql).map((v) => v.name);
  }

  /** The columns of a warehouse view or table, in order. */
  columns(name: string): string[] {
    const sql =
      this.backend === "postgres"
        ? `select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = '${name}' order by ordinal_position`
        : `select name from pragma_table_info('${name}')`;
    return this.query<{ name: string }>(sql).map((c) => c.name);
  }

  private schemaOf(file: string): string {
    if (file === ".reflow/state.db") return this.schemas.state;
    if (file === ".reflow/warehouse.db") return this.schemas.warehouse;
    throw new Error(`${file} is not the project's state or warehouse`);
  }

  dispose(): void {
    if (this.backend === "postgres") this.dropSchemas();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function pgDatabaseUrl(): string {
  const url = process.env.REFLOW_TEST_PG_DATABASE;
  if (!url) throw new Error("REFLOW_TEST_BACKEND=postgres needs REFLOW_TEST_PG_DATABASE (set by test/support/postgres-setup.ts)");
  return url;
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.error?.message ?? result.stderr}`);
}

/** One request to pg-sync.mjs, synchronously: the e2e helpers are synchronous, as SQLite's are. */
function pgSync(request: Record<string, unknown>): unknown {
  const result = spawnSync(process.execPath, [PG_SYNC, JSON.stringify(request)], { encoding: "utf8", timeout: 60_000 });
  if (result.status !== 0) throw new Error(`pg-sync ${String(request.op)} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}
