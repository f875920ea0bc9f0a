import type { BreakerThresholds, ProfileName, Rung } from "@vault-mcp/contract";
import { type BreakerSnapshot, type SpendRow, snapshotFrom, spendRowsStatement, taskBreaker } from "../breakers.ts";
import { COOLING_SQL, chooseProfile, type Wanted } from "../ladder.ts";

export type BreakerVerdict = "ok" | "warn" | "halt" | "block";

export interface BreakerCheck {
  verdict: BreakerVerdict;
  flags: string[];
  taskCostUsd: number;
  /** The cap this check used: the task's (raised) budget or the configured halt line. */
  capUsd: number;
  daySpentUsd: number;
  monthSpentUsd: number;
  /** The profile to dispatch (or `human`). */
  profile: Rung;
  /** Rungs passed over because they are cooling down. */
  skipped: ProfileName[];
}

/** Flags a result carries: `task_warn` at the per-task warn line, `month_flag` until acknowledged. */
export function flagsFor(taskCostUsd: number, t: BreakerThresholds, monthFlagged: boolean): string[] {
  const flags: string[] = [];
  if (taskBreaker(taskCostUsd, t, Number.POSITIVE_INFINITY) === "warn") flags.push("task_warn");
  if (monthFlagged) flags.push("month_flag");
  return flags;
}

/** Pure: block (the day) wins over halt (the task), which wins over warn. */
export function breakerVerdict(
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
  wanted: Wanted;
  ladder: readonly Rung[];
}

/**
 * Runs before every dispatch. One D1 round trip of primary-key reads (day + month totals, the task
 * row, the few cooling profiles), so it stays fast however many stages exist; a second statement
 * only when the task's flags change. Re-running it is harmless: the same reads, the same update.
 */
export async function checkBreakers(
  db: D1Database,
  t: BreakerThresholds,
  input: BreakerCheckInput,
  now: number,
): Promise<BreakerCheck> {
  const [spend, task, cooling] = await db.batch<unknown>([
    spendRowsStatement(db, now),
    db.prepare("SELECT cost_usd AS costUsd, flags FROM tasks WHERE id = ?1").bind(input.taskId),
    db.prepare(COOLING_SQL).bind(now),
  ]);
  const snapshot = snapshotFrom((spend?.results ?? []) as SpendRow[], t, now);
  const row = (task?.results[0] ?? null) as { costUsd: number; flags: string } | null;
  const taskCostUsd = row?.costUsd ?? 0;
  const capUsd = input.capUsd ?? t.taskHaltUsd;
  const flags = flagsFor(taskCostUsd, t, snapshot.flagged);
  if (row && row.flags !== JSON.stringify(flags)) {
    await db
      .prepare("UPDATE tasks SET flags = ?1, updated_at = ?2 WHERE id = ?3")
      .bind(JSON.stringify(flags), now, input.taskId)
      .run();
  }
  const choice = chooseProfile(
    input.ladder,
    input.wanted,
    new Set(((cooling?.results ?? []) as { profile: string }[]).map((r) => r.profile)),
  );
  return {
    verdict: breakerVerdict(snapshot, taskCostUsd, t, capUsd),
    flags,
    taskCostUsd,
    capUsd,
    daySpentUsd: snapshot.day.spentUsd,
    monthSpentUsd: snapshot.month.spentUsd,
    profile: choice.profile,
    skipped: choice.skipped,
  };
}
