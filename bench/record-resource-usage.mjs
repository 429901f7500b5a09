// Preloaded with `node --import` into a process the harness measures: writes
// its peak resident set size and CPU time to REFLOW_BENCH_USAGE_FILE when it
// exits. CPU time is reported next to wall time because other work on the
// machine inflates the latter.
import { writeFileSync } from "node:fs";

const file = process.env.REFLOW_BENCH_USAGE_FILE;
if (file) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ peakRssBytes: usage.maxRSS * 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 }));
  });
}
