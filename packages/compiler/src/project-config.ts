import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { displayPath, NO_RETRIES, ReflowError, type RetryPolicy, type StateLocation, type WarehouseLocation } from "@reflow/core";

export const CONFIG_FILE = "reflow.yaml";

const sqliteWarehouse = z.strictObject({
  type: z.literal("sqlite"),
  path: z.string().min(1).default(".reflow/warehouse.db"),
});

/** A PostgreSQL schema name: plain, so it never needs quoting in a connection option. */
const schemaName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a schema name is lower-case letters, digits and _");
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, "a PostgreSQL URL starts with postgres:// or postgresql://");

const postgresWarehouse = z.strictObject({
  type: z.literal("postgres"),
  url: postgresUrl,
  schema: schemaName.default("public"),
});

const sqliteState = z.strictObject({ type: z.literal("sqlite"), path: z.string().min(1).default(".reflow/state.db") });
const postgresState = z.strictObject({ type: z.literal("postgres"), url: postgresUrl, schema: schemaName.default("reflow_state") });

/** Keys whose values may name environment variables as `${NAME}`. */
const EXPANDED_KEYS: readonly (readonly string[])[] = [
  ["state", "url"],
  ["warehouse", "url"],
];

const configSchema = z.strictObject({
  pipelines: z.array(z.string().min(1)).min(1).default(["pipelines/**/*.ts"]),
  /** A path is the SQLite state file (the short form). */
  state: z.union([z.string().min(1), z.discriminatedUnion("type", [sqliteState, postgresState])]).default(".reflow/state.db"),
  warehouse: z.discriminatedUnion("type", [sqliteWarehouse, postgresWarehouse]).default({ type: "sqlite", path: ".reflow/warehouse.db" }),
  concurrency: z.number().int().min(1).max(256).default(4),
  /** Named slots shared by the datasets that declare `pool: NAME`. */
  pools: z.record(z.string().regex(/^[A-Za-z][\w-]*$/, "a pool name is letters, digits, _ and -"), z.number().int().min(1)).default({}),
  /** The retry policy of every dataset that does not declare its own `retries`. */
  retries: z
    .strictObject({
      attempts: z.number().int().min(1),
      backoff: z.enum(["exponential", "fixed"]),
      initialDelayMs: z.number().min(0),
      maxDelayMs: z.number().min(0),
    })
    .partial()
    .default({}),
  retainVersions: z.number().int().min(1).default(3),
});

/** A project's settings with every default filled in and paths made absolute. */
export interface ProjectConfig {
  readonly projectDir: string;
  /** The config file, if the project has one. */
  readonly configFile?: string;
  readonly pipelines: readonly string[];
  readonly state: StateLocation;
  readonly warehouse: WarehouseLocation;
  readonly concurrency: number;
  readonly pools: Readonly<Record<string, number>>;
  readonly retries: RetryPolicy;
  /** Versions of each partition `reflow gc` keeps, the live one included. */
  readonly retainVersions: number;
}

/** Reads and validates `reflow.yaml` (optional) in a project folder. */
export function loadProjectConfig(projectDir: string): ProjectConfig {
  const dir = path.resolve(projectDir);
  const file = path.join(dir, CONFIG_FILE);
  if (!existsSync(file)) return resolveConfig(dir, undefined, configSchema.parse({}));
  const text = readFileSync(file, "utf8");
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  const relative = displayPath(file);
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new ReflowError("REFLOW_CONFIG_INVALID", `${relative}:${line}:${col}: invalid YAML: ${first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`, {
      location: { file, line, column: col },
    });
  }
  const raw = document.toJS() ?? {};
  expandEnvironment(raw, document, lineCounter, file);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const keyPath = issuePath(issue);
    const node = issue.code === "unrecognized_keys" ? findKey(document, issue.path, issue.keys[0]!) : findNode(document, issue.path);
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    throw new ReflowError("REFLOW_CONFIG_INVALID", `${relative}:${line}:${col}: ${keyPath}: ${describeIssue(issue)}`, {
      location: { file, line, column: col },
      subject: keyPath,
    });
  }
  return resolveConfig(dir, file, result.data);
}

function resolveConfig(dir: string, configFile: string | undefined, data: z.output<typeof configSchema>): ProjectConfig {
  return Object.freeze({
    projectDir: dir,
    ...(configFile ? { configFile } : {}),
    pipelines: Object.freeze([...data.pipelines]),
    state: Object.freeze(
      typeof data.state === "string"
        ? { type: "sqlite" as const, path: path.resolve(dir, data.state) }
        : data.state.type === "sqlite"
          ? { type: "sqlite" as const, path: path.resolve(dir, data.state.path) }
          : { ...data.state },
    ),
    warehouse: Object.freeze(data.warehouse.type === "sqlite" ? { type: "sqlite" as const, path: path.resolve(dir, data.warehouse.path) } : { ...data.warehouse }),
    concurrency: data.concurrency,
    pools: Object.freeze({ ...data.pools }),
    retries: Object.freeze({ ...NO_RETRIES, ...data.retries }),
    retainVersions: data.retainVersions,
  });
}

/**
 * Replaces \`${NAME}\` in the keys that allow it with the environment's value,
 * in place; an unset variable is an error naming file, line and variable
 * (never the value of anything: URLs hold passwords).
 */
function expandEnvironment(raw: unknown, document: ReturnType<typeof parseDocument>, lineCounter: LineCounter, file: string): void {
  for (const keys of EXPANDED_KEYS) {
    const parent = keys.slice(0, -1).reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), raw);
    const key = keys[keys.length - 1]!;
    if (!parent || typeof parent !== "object") continue;
    const value = (parent as Record<string, unknown>)[key];
    if (typeof value !== "string") continue;
    (parent as Record<string, unknown>)[key] = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const set = process.env[name];
      if (set !== undefined) return set;
      const { line, col } = lineCounter.linePos(findNode(document, keys)?.range?.[0] ?? 0);
      throw new ReflowError("REFLOW_CONFIG_INVALID", `${displayPath(file)}:${line}:${col}: ${keys.join(".")}: environment variable ${name} is not set`, {
        location: { file, line, column: col },
        subject: keys.join("."),
      });
    });
  }
}

function issuePath(issue: z.core.$ZodIssue): string {
  const keys = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]!] : issue.path;
  return keys.length === 0 ? "(top level)" : keys.map((key) => (typeof key === "number" ? `[${key}]` : String(key))).join(".").replace(/\.\[/g, "[");
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown key${issue.keys.length > 1 ? `s ${issue.keys.join(", ")}` : ""}`;
  return issue.message;
}

/** The key node of an unknown key, to point at its line. */
function findKey(document: ReturnType<typeof parseDocument>, mapPath: readonly PropertyKey[], key: string): { range?: [number, number, number] | null } | undefined {
  const map = mapPath.length === 0 ? document.contents : document.getIn(mapPath as unknown[], true);
  if (isMap(map)) {
    const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return findNode(document, mapPath);
}

/** The YAML node closest to a key path, to point at a line. */
function findNode(document: ReturnType<typeof parseDocument>, keys: readonly PropertyKey[]): { range?: [number, number, number] | null } | undefined {
  for (let length = keys.length; length >= 0; length--) {
    const node = document.getIn(keys.slice(0, length) as unknown[], true) as { range?: [number, number, number] | null } | undefined;
    if (node && typeof node === "object" && "range" in node) return node;
  }
  return isMap(document.contents) ? document.contents : undefined;
}
