import { ReflowError, unlockState } from "@reflow/api";
import type { GlobalOptions } from "../main.js";
import { askYesNo, isInteractive } from "../terminal.js";

export async function unlockCommand(options: GlobalOptions & { yes?: boolean }): Promise<void> {
  const outcome = await unlockState({
    projectDir: options.project,
    confirm: async (holder, alive) => {
      process.stdout.write(
        `The state is locked by \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.acquiredAt}).\n` +
          (alive
            ? "That process looks alive: removing its lock lets a second apply run beside it.\n"
            : "That process looks gone (on this host its pid is not running, or runs another process; on another host its lease expired); the next apply would take the lock over anyway.\n"),
      );
      if (options.yes) return true;
      if (!isInteractive()) {
        throw new ReflowError("REFLOW_CONFIRMATION_REQUIRED", "unlock asks for confirmation, and there is no terminal to ask on: run `reflow unlock --yes`");
      }
      return askYesNo("Remove the lock?");
    },
  });
  if (!outcome.holder) process.stdout.write("The state is not locked.\n");
  else if (outcome.removed) process.stdout.write("Lock removed.\n");
  else process.stdout.write("Lock kept.\n");
}
