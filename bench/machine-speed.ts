import { spawnSync } from "node:child_process";
import { median } from "./measure-runs.js";

/**
 * How fast this machine is right now, by two fixed workloads timed in a new
 * Node process: `loopMs`, arithmetic in one loop (the CPU's speed), and
 * `allocationMs`, three million small objects kept alive (memory: the pages the
 * heap grows into, whose faults cost ten times more on some days of a shared
 * VM than on others). Recorded beside each scenario, so that figures from
 * different days can be told apart from changes in reflow.
 */
export interface MachineSpeed {
  readonly loopMs: number;
  readonly allocationMs: number;
}

const PROBE = `
const timed = (work) => { const started = performance.now(); work(); return performance.now() - started; };
const loopMs = timed(() => { let x = 0; for (let i = 0; i < 3e8; i++) x += i % 7; if (x < 0) throw new Error(); });
const allocationMs = timed(() => { const kept = []; for (let i = 0; i < 3e6; i++) kept.push({ i, s: "x" + i }); if (kept.length < 0) throw new Error(); });
process.stdout.write(JSON.stringify({ loopMs, allocationMs }));
`;

/** The median of three probes, each in its own process. */
export function machineSpeed(): MachineSpeed {
  const probes = [0, 1, 2].map(() => {
    const result = spawnSync(process.execPath, ["-e", PROBE], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`the machine speed probe failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as MachineSpeed;
  });
  return {
    loopMs: Math.round(median(probes.map((p) => p.loopMs))),
    allocationMs: Math.round(median(probes.map((p) => p.allocationMs))),
  };
}
