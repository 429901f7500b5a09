import { migrateState } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { plural } from "../terminal.js";

export async function migrateCommand(options: GlobalOptions): Promise<void> {
  const outcome = await migrateState({ projectDir: options.project });
  if (outcome.status === "none") process.stdout.write(`There is no state at ${outcome.state} yet: nothing to migrate.\n`);
  else if (outcome.status === "current") process.stdout.write(`The state at ${outcome.state} is up to date (schema ${outcome.schema}).\n`);
  else {
    process.stdout.write(
      `Migrated the state at ${outcome.state} to schema ${outcome.schema}: ${plural(outcome.applied.length, "migration")} applied (${outcome.applied.join(", ")}).\n`,
    );
  }
}
