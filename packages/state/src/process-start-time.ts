import { readFileSync } from "node:fs";

/**
 * Linux reports process start times in clock ticks of USER_HZ, which is 100 on
 * every architecture (it is part of the kernel's ABI, whatever the kernel's own HZ).
 */
const USER_HZ = 100;

let bootTimeMs: number | undefined;

/**
 * When the process `pid` started, in ms since the epoch, where the OS tells
 * (Linux's `/proc`); undefined elsewhere, or if it has no such process.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Field 2, the command name, is in parentheses and may itself hold spaces or ')':
    // count the fields after the last ')', where field 3 is the first.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTicks = Number(fields[22 - 3]);
    bootTimeMs ??= readBootTime();
    if (!Number.isFinite(startTicks) || bootTimeMs === undefined) return undefined;
    return bootTimeMs + (startTicks * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

function readBootTime(): number | undefined {
  const line = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
  return line ? Number(line[1]) * 1000 : undefined;
}
