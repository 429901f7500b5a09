import type { ProjectConfig } from "@reflow/compiler";
import { displayPath, ReflowError } from "@reflow/core";

/**
 * A distributed run needs state and warehouse every worker can reach: both
 * PostgreSQL. A SQLite file lives on one machine, so a worker elsewhere could
 * neither claim units nor write versions the coordinator can publish.
 */
export function requireSharedStorage(config: ProjectConfig, what: string): void {
  const local = [
    ...(config.state.type === "sqlite" ? [`the state is a SQLite file (${displayPath(config.state.path)})`] : []),
    ...(config.warehouse.type === "sqlite" ? [`the warehouse is a SQLite file (${displayPath(config.warehouse.path)})`] : []),
  ];
  if (local.length === 0) return;
  throw new ReflowError(
    "REFLOW_DISTRIBUTE_UNSUPPORTED",
    `${what} needs PostgreSQL state and warehouse, shared by every worker, but ${local.join(" and ")}: a worker on another machine cannot reach it. ` +
      "Set `state:` and `warehouse:` to `{ type: postgres, url: …, schema: … }` in reflow.yaml",
  );
}
