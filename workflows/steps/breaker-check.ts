import type { BreakerSnapshot, BreakerThresholds, ProfileName } from "@vault-mcp/contract";
import { CHAIN_COST_SQL, type SpendRow, snapshotFrom, spendRowsStatement, taskBreaker } from "../breakers.ts";
import { COOLING_SQL } from "../ladder.ts";

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
}

/** The task's flags, and what its whole replay chain has spent. */
const TASK_SQL = `SELECT t.flags AS flags, ${CHAIN_COST_SQL} AS chainCostUsd FROM tasks t WHERE t.id = ?1`;

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
  const [spend, task, cooling] = await db.batch<unknown>([
    spendRowsStatement(db, now),
    db.prepare(TASK_SQL).bind(input.taskId),
    db.prepare(COOLING_SQL).bind(now),
  ]);
  const snapshot = snapshotFrom((spend?.results ?? []) as SpendRow[], t, now);
  const row = (task?.results[0] ?? null) as { flags: string; chainCostUsd: number } | null;
  const taskCostUsd = row?.chainCostUsd ?? 0;
  const capUsd = input.capUsd ?? t.taskHaltUsd;
  const flags = flagsFor(taskCostUsd, t, snapshot.flagged);
  if (row && row.flags !== JSON.stringify(flags)) {
    await db
      .prepare("UPDATE tasks SET flags = ?1, updated_at = ?2 WHERE id = ?3")
      .bind(JSON.stringify(flags), now, input.taskId)
      .run();
  }
  const coolingUntil: BreakerCheck["cooling"] = {};
  for (const r of (cooling?.results ?? []) as { profile: ProfileName; until: number }[])
    coolingUntil[r.profile] = r.until;
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
