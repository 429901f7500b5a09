// `tsx bench/summarize-cpu-profile.ts FILE.cpuprofile [N]`: the top N costs of
// a `node --cpu-prof` profile, by self time per function and per package or
// project folder, so docs/benchmarks.md can say where the time goes.
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

const [file, count = "25"] = process.argv.slice(2);
if (!file) throw new Error("usage: summarize-cpu-profile.ts FILE.cpuprofile [N]");
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMs = new Map<number, number>();
profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
const totalMs = (profile.endTime - profile.startTime) / 1000;

const byFunction = new Map<string, number>();
const byArea = new Map<string, number>();
for (const [id, ms] of selfMs) {
  const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
  const where = url.replace(/^file:\/\//, "");
  const fn = `${functionName || "(anonymous)"} ${shortPath(where)}:${lineNumber + 1}`;
  const folder = area(where, functionName);
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  byArea.set(folder, (byArea.get(folder) ?? 0) + ms);
}

const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, ms] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
    console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${name}`);
  }
};
// Inclusive time of reflow's own functions (packages/, cli/): which phase the time is spent under.
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
const inclusive = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const { functionName, url, lineNumber } = nodes.get(at)!.callFrame;
    if (!/\/(packages|cli)\//.test(url) || url.includes("node_modules")) continue;
    const fn = `${functionName || "(anonymous)"} ${shortPath(url.replace(/^file:\/\//, ""))}:${lineNumber + 1}`;
    if (seen.has(fn)) continue;
    seen.add(fn);
    inclusive.set(fn, (inclusive.get(fn) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
});

console.log(`${file}: ${totalMs.toFixed(0)} ms profiled`);
print("Self time by package or folder:", byArea);
print("Self time by function:", byFunction);
print("Inclusive time of reflow's functions:", inclusive);

/** `node_modules/<package>`, a repository folder such as `packages/engine`, or what V8 calls it (GC, program, idle). */
function area(where: string, functionName: string): string {
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where);
  if (dependency) return dependency[1]!;
  const local = /\/(packages\/[^/]+|cli|pipelines|bench)\//.exec(where);
  if (local) return local[1]!;
  if (where.startsWith("node:")) return "node internals";
  return where === "" ? `(${functionName || "native"})` : shortPath(where);
}

function shortPath(where: string): string {
  return where.replace(/^.*\/node_modules\//, "").replace(/^.*\/(packages|cli|bench)\//, "$1/");
}
