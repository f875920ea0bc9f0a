import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { tasks } from "../../schema/index.ts";
import type { BreakerThresholds } from "../../worker/config.ts";
import { readBreakers, taskBreaker } from "../breakers.ts";
import { coolingProfiles, firstUsable } from "../ladder.ts";

export type BreakerVerdict = "ok" | "warn" | "halt" | "block";

export interface BreakerCheck {
  verdict: BreakerVerdict;
  flags: string[];
  taskCostUsd: number;
  daySpentUsd: number;
  /** The profile to dispatch: `wanted`, or the next one up if it is cooling down. */
  profile: string;
}

/** Flags a result carries: `task_warn` at the per-task warn line, `month_flag` until acknowledged. */
export function flagsFor(taskCostUsd: number, t: BreakerThresholds, monthFlagged: boolean): string[] {
  const flags: string[] = [];
  if (taskCostUsd >= t.taskWarnUsd) flags.push("task_warn");
  if (monthFlagged) flags.push("month_flag");
  return flags;
}

/**
 * Runs before every dispatch. Reads only primary keys (task row, day and month totals), so it stays
 * fast however many stages exist. Block (the day) wins over halt (the task), which wins over warn.
 */
export async function checkBreakers(
  db: D1Database,
  t: BreakerThresholds,
  input: { taskId: string; capUsd: number | undefined; wanted: string; ladder: readonly string[] },
  now: number,
): Promise<BreakerCheck> {
  const [snapshot, [task], cooling] = await Promise.all([
    readBreakers(db, t, now),
    drizzle(db).select({ costUsd: tasks.costUsd, flags: tasks.flags }).from(tasks).where(eq(tasks.id, input.taskId)).limit(1),
    coolingProfiles(db, now),
  ]);
  const taskCostUsd = task?.costUsd ?? 0;
  const state = taskBreaker(taskCostUsd, t, input.capUsd);
  const verdict: BreakerVerdict = snapshot.blocked ? "block" : state;
  const flags = flagsFor(taskCostUsd, t, snapshot.flagged);
  await drizzle(db).update(tasks).set({ flags, updatedAt: now }).where(eq(tasks.id, input.taskId));
  return { verdict, flags, taskCostUsd, daySpentUsd: snapshot.day.spentUsd, profile: firstUsable(input.ladder, input.wanted, cooling) };
}
