/**
 * The words a task ends or waits with (its `error`, which the instance's error repeats): what
 * happened and what to do next, one place for each.
 */
import type { Pass, Standing } from "./ladder.ts";
import type { BreakerCheck } from "./steps/breaker-check.ts";
import type { StageBase } from "./steps/facts.ts";

const lastOf = (lastError: string | null) => (lastError ? ` (last: ${lastError})` : "");

export function blockedMessage(gate: BreakerCheck, dayBlockUsd: number): string {
  return `today's spend $${gate.daySpentUsd.toFixed(2)} reached the $${dayBlockUsd} daily block; no dispatch until 00:00 UTC (replay the task then)`;
}

export function haltedMessage(gate: BreakerCheck): string {
  return `task spend $${gate.taskCostUsd.toFixed(2)} reached its $${gate.capUsd} cap; raise it (workflow decide with a budget, or POST /api/tasks/:id/budget) to resume`;
}

/**
 * The job ran (or may have) but its result could not be read: the stage keeps its `running` row and
 * job id, so `vault reconcile` (and the scheduled reconcile) write it from the executor later.
 */
export function unwrittenMessage(base: StageBase, failure: string): string {
  return `attempt ${base.attempt} (${base.profile}): its result could not be read from the executor (${failure}); it is kept there and reconcile writes it once the executor answers`;
}

/** Nothing (more) can run: the root cause and the fix, not "every rung failed". */
export function nothingRanMessage(aside: Standing["aside"], passed: readonly Pass[], lastError: string | null): string {
  const why = Object.entries(aside).map(([p, w]) => `${p}: ${w}`);
  for (const pass of passed) if (!aside[pass.profile]) why.push(`${pass.profile}: ${pass.why}`);
  const last = lastOf(lastError);
  return why.length
    ? `no profile could run${last}. Configure the executor: ${why.join("; ")}`
    : `no profile could run${last}`;
}

/** What the human is asked: at the ladder's top, or at the chooser's ceiling (`ceilingWhy`). */
export function humanAsk(ceilingWhy: string | undefined, lastError: string | null): string {
  const last = lastOf(lastError);
  return ceilingWhy
    ? `${ceilingWhy}${last}; retry with a profile to go on, or approve or reject (workflow decide)`
    : `every rung of the ladder failed${last}; approve, reject, or retry with a profile and instructions (workflow decide)`;
}

export function noHumanMessage(ceilingWhy: string | undefined): string {
  return `no human decision within 24 hours; ${ceilingWhy ?? "the ladder's last rung failed"}`;
}
