/**
 * What a run cost when its CLI did not say. claude's result JSON and codex's turn.completed come only
 * at the very end, so a run that is killed (timeout, budget stop, shutdown, a restart, a signal)
 * reports no usage: its cost is then what its session log shows, priced with our table
 * (`costSource: computed`). When that log cannot be read (the CLI keeps none we can read, it is
 * absent, or the disk refuses it) the cost is unknown, and the run is counted at its bound
 * (`costSource: bound`), never at the $0 it reported, so the Worker's breakers over-count rather
 * than under-count:
 *
 *   bound  the job's maxBudgetUsd, split between a consensus's two sides as their budgets are;
 *          for a job without one, UNKNOWN_COST_USD (config.ts, executor/README.md)
 */
import type { JobRequest, RunResult } from "@vault-mcp/contract";
import type { ProcessOutcome } from "../interfaces.ts";
import { type PriceTable, priceUsage } from "../pricing.ts";
import type { ModelTokens } from "./session-logs.ts";
import { totalTokens, type UsageTracker } from "./tracker.ts";

/** What reading a run's session log gave. */
export type UsageRead =
  | { kind: "read"; usage: ModelTokens[] }
  /** The CLI keeps no log we can read (e.g. codex --ephemeral), or logged nothing (no file). */
  | { kind: "absent" }
  /** A log is there and the read failed: a disk or permission error, never "no usage". */
  | { kind: "unreadable"; error: string };

export async function readUsage(tracker: UsageTracker | null): Promise<UsageRead> {
  if (!tracker) return { kind: "absent" };
  try {
    const usage = await tracker.poll();
    return usage.length > 0 ? { kind: "read", usage } : { kind: "absent" };
  } catch (err) {
    // The caller logs it with the job's id (usage_log_unreadable) and counts the run at its bound.
    return { kind: "unreadable", error: err instanceof Error ? err.message : String(err) };
  }
}

/** Killed by us (timeout, budget, shutdown) or by a signal from elsewhere: it may have spent without saying. */
export function wasKilled(o: Pick<ProcessOutcome, "timedOut" | "aborted" | "signal">): boolean {
  return o.timedOut || o.aborted || o.signal !== null;
}

/** Each side's budget: the job's maxBudgetUsd split evenly between its sides, as they run at once. */
export function sideBudget(req: Pick<JobRequest, "maxBudgetUsd">, sides: number): number | undefined {
  return req.maxBudgetUsd === undefined ? undefined : req.maxBudgetUsd / sides;
}

/** What a side whose cost is unknown is counted at. */
export function costBound(budgetUsd: number | undefined, unknownCostUsd: number): number {
  return budgetUsd ?? unknownCostUsd;
}

/** Whether the CLI reported usage of its own (tokens and a cost): then its figures stand. */
export function reportedUsage(run: RunResult): boolean {
  const t = run.tokens;
  return t.input + t.output + t.cacheRead + t.cacheWrite > 0 && run.costUsd > 0;
}

/**
 * The run's cost from its session log: the logged usage when it is more than the run reported;
 * for a killed run whose log gave nothing (absent or unreadable), its bound.
 */
export function settleCost(
  run: RunResult,
  o: { read: UsageRead; killed: boolean; prices: PriceTable; boundUsd: number },
): RunResult {
  if (o.read.kind === "read") {
    const logged = priceUsage(o.prices, o.read.usage);
    if (logged.costUsd <= run.costUsd) return run;
    return { ...run, tokens: totalTokens(o.read.usage), ...logged };
  }
  if (!o.killed) return run;
  return { ...run, costUsd: Math.max(run.costUsd, o.boundUsd), costSource: "bound" };
}
