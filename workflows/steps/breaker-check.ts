import type { BreakerSnapshot, BreakerThresholds, ProfileName } from "@vault-mcp/contract";
import { eq, gt, max } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { modelStats, tasks } from "../../schema/index.ts";
import { chainCost, snapshotFrom, spendRows, taskBreaker } from "../breakers.ts";
import type { Db } from "../d1.ts";

export type BreakerVerdict = "ok" | "warn" | "halt" | "block";

export interface BreakerCheck {
  verdict: BreakerVerdict;
  flags: string[];
  /** What the task and its replay chain have spent: the cap applies to them together. */
  taskCostUsd: number;
  /** The cap this check used: the task's (raised) budget or the configured halt line. */
  capUsd: number;
  daySpentUsd: number;
  monthSpentUsd: number;
  /** Profiles cooling down now, with when each cooldown ends. */
  cooling: Partial<Record<ProfileName, number>>;
}

/** Flags a result carries: `task_warn` at the per-task warn line, `month_flag` until acknowledged. */
export function flagsFor(taskCostUsd: number, t: BreakerThresholds, monthFlagged: boolean): string[] {
  const flags: string[] = [];
  if (taskBreaker(taskCostUsd, t, Number.POSITIVE_INFINITY) === "warn") flags.push("task_warn");
  if (monthFlagged) flags.push("month_flag");
  return flags;
}

/** Pure: block (the day) wins over halt (the task), which wins over warn. */
function breakerVerdict(
  snapshot: BreakerSnapshot,
  taskCostUsd: number,
  t: BreakerThresholds,
  capUsd: number,
): BreakerVerdict {
  return snapshot.blocked ? "block" : taskBreaker(taskCostUsd, t, capUsd);
}

export interface BreakerCheckInput {
  taskId: string;
  /** The task's cap (budgetUsd, or a cap raised by a budget event); default the configured halt line. */
  capUsd: number | undefined;
}

/** Profiles cooling down now, with when each cooldown ends (model_stats is a small table). */
function coolingProfiles(d: Db, now: number) {
  return d
    .select({ profile: modelStats.profile, until: max(modelStats.cooldownUntil) })
    .from(modelStats)
    .where(gt(modelStats.cooldownUntil, now))
    .groupBy(modelStats.profile);
}

/**
 * Runs before every dispatch. One D1 round trip of indexed reads (day + month totals, the task row
 * and its chain, the few cooling profiles), so it stays fast however many stages exist; a second
 * statement only when the task's flags change. Re-running it is harmless: the same reads, the same
 * update.
 */
export async function checkBreakers(
  db: D1Database,
  t: BreakerThresholds,
  input: BreakerCheckInput,
  now: number,
): Promise<BreakerCheck> {
  const d = drizzle(db);
  const [spend, [task], cooling] = await d.batch([
    spendRows(d, now),
    d.select({ flags: tasks.flags, chainCostUsd: chainCost() }).from(tasks).where(eq(tasks.id, input.taskId)),
    coolingProfiles(d, now),
  ]);
  const snapshot = snapshotFrom(spend, t, now);
  const taskCostUsd = task?.chainCostUsd ?? 0;
  const capUsd = input.capUsd ?? t.taskHaltUsd;
  const flags = flagsFor(taskCostUsd, t, snapshot.flagged);
  if (task && JSON.stringify(task.flags) !== JSON.stringify(flags))
    await d.update(tasks).set({ flags, updatedAt: now }).where(eq(tasks.id, input.taskId));
  const coolingUntil: BreakerCheck["cooling"] = {};
  for (const r of cooling) if (r.until !== null) coolingUntil[r.profile] = r.until;
  return {
    verdict: breakerVerdict(snapshot, taskCostUsd, t, capUsd),
    flags,
    taskCostUsd,
    capUsd,
    daySpentUsd: snapshot.day.spentUsd,
    monthSpentUsd: snapshot.month.spentUsd,
    cooling: coolingUntil,
  };
}
