import { readFileSync } from "node:fs";

/**
 * Linux reports process start times in clock ticks of USER_HZ, which is 100 on
 * every architecture (it is part of the kernel's ABI, whatever the kernel's own HZ).
 */
const USER_HZ = 100;

/** What the OS says of a running process: when it started, and whether it has already exited. */
export interface ProcessStart {
  /** Milliseconds since the epoch, by the wall clock as it reads now. */
  readonly startedAt: number;
  /** Exited and not yet reaped by its parent (a zombie), or being torn down: it holds nothing. */
  readonly exited: boolean;
}

/**
 * When the process `pid` started and whether it has exited, where the OS tells
 * (Linux's `/proc`); undefined elsewhere, or if there is no such process.
 */
export function processStart(pid: number): ProcessStart | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Field 2, the command name, is in parentheses and may itself hold spaces or ')':
    // count the fields after the last ')', where field 3 (the state) is the first.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[3 - 3];
    const startTicks = Number(fields[22 - 3]);
    // Read each time: the boot time is derived from the wall clock, which can be stepped while a command waits.
    const bootTime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    if (!Number.isFinite(startTicks) || !bootTime) return undefined;
    return { startedAt: Number(bootTime[1]) * 1000 + (startTicks * 1000) / USER_HZ, exited: state === "Z" || state === "X" || state === "x" };
  } catch {
    return undefined;
  }
}
