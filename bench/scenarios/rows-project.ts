import { TempProject } from "../../test/support/temp-project.js";
import { FIRST_DAY } from "../generate-project.js";
import { formatDayKey, parseDayKey } from "@reflow/core";

export interface RowsProject {
  readonly project: TempProject;
  readonly asOf: string;
  /** Adds (or rewrites) `enriched`, a row-by-row streaming transform of `events`; a new `version` rebuilds every partition. */
  writeEnriched(version: number): void;
}

/**
 * A project with one big source, `events` (`partitions` days of `rows` rows,
 * generated lazily so the source itself streams), for the data-heavy
 * scenarios. `enriched` streams its input and its output, as the guide
 * recommends for large partitions.
 */
export function rowsProject(options: { readonly partitions: number; readonly rows: number }): RowsProject {
  const project = new TempProject({ "pipelines/events.ts": eventsSource(options.rows) });
  return {
    project,
    asOf: formatDayKey(parseDayKey(FIRST_DAY)! + options.partitions * 86_400_000),
    writeEnriched: (version) => project.write("pipelines/enriched.ts", enrichedDataset(version)),
  };
}

function eventsSource(rows: number): string {
  return `import { daily, source } from "@reflow/core";
import { z } from "zod";

function* eventRows(count: number) {
  for (let i = 0; i < count; i++) yield { id: i, user: \`u\${i % 1000}\`, amount: (i * 7919) % 1000 };
}

export const events = source("events", {
  partitions: daily({ start: "${FIRST_DAY}" }),
  schema: z.object({ id: z.number().int(), user: z.string(), amount: z.number().int() }),
  // Not observed for changes: the scenario times the transform, not a re-read of 10M source rows per plan.
  observe: false,
  read: () => eventRows(${rows}),
});
`;
}

function enrichedDataset(version: number): string {
  return `import { daily, dataset } from "@reflow/core";
import { z } from "zod";
import { events } from "./events.js";

export const enriched = dataset("enriched", {
  partitions: daily({ start: "${FIRST_DAY}" }),
  inputs: { events },
  schema: z.object({ id: z.number().int(), user: z.string(), amount_cents: z.number().int(), tier: z.string() }),
  version: ${version},
  transform: async function* ({ inputs }) {
    for await (const e of inputs.events) {
      yield { id: e.id, user: e.user, amount_cents: e.amount * 100, tier: e.amount >= 500 ? "high" : "low" };
    }
  },
});
`;
}
