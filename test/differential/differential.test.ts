import { expect, test } from "vitest";
import { CI_SIZE, FULL_SIZE } from "./differential-case.js";
import { runDifferentialChain } from "./run-differential-case.js";

/**
 * The differential proof of exact plans: for seeded random projects and
 * random edits, `apply` after an edit leaves the warehouse equal to a
 * from-scratch build of the edited project, and recomputes exactly the
 * partitions that truly changed or read something that did. Each seed is a
 * chain of EDITS_PER_SEED cases, each edit applied on top of the last.
 *
 *   REFLOW_DIFF_CASES=2000   run more cases (default 200)
 *   REFLOW_DIFF_SEED=123     replay one seed's chain, printing each case
 *   REFLOW_DIFF_FULL=1       the whole size range (20–60 datasets, 30–120 days)
 */
const EDITS_PER_SEED = 5;
const replay = process.env.REFLOW_DIFF_SEED;
const cases = Number(process.env.REFLOW_DIFF_CASES ?? 200);
const seeds = replay ? [Number(replay)] : Array.from({ length: Math.ceil(cases / EDITS_PER_SEED) }, (_, i) => i + 1);
const size = process.env.REFLOW_DIFF_FULL === "1" ? FULL_SIZE : CI_SIZE;

test.each(seeds)(`differential seed=%i (${EDITS_PER_SEED} edits)`, async (seed) => {
  const results = await runDifferentialChain(seed, EDITS_PER_SEED, size);
  if (replay) for (const r of results) console.log(`seed=${seed} step=${r.step}`, r.stats, `\n${r.description}`);
  const failed = results.find((r) => r.problems.length > 0);
  if (failed) {
    const shown = failed.problems.slice(0, 25);
    const more = failed.problems.length - shown.length;
    expect.fail(
      [
        `differential seed=${seed}, edit ${failed.step}: ${failed.problems.length} problems (replay: REFLOW_DIFF_SEED=${seed}${size === FULL_SIZE ? " REFLOW_DIFF_FULL=1" : ""} npx vitest run test/differential/differential.test.ts)`,
        ...shown,
        ...(more > 0 ? [`… and ${more} more`] : []),
        `the project before the edit, and the edit:\n${failed.description}`,
        `folders kept (built, incremental, scratch): ${failed.dirs.join(" ")}`,
      ].join("\n"),
    );
  }
  expect(results.map((r) => r.step)).toEqual(Array.from({ length: EDITS_PER_SEED }, (_, i) => i + 1));
});
