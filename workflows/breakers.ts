/**
 * Circuit breakers. Spend totals live in `circuit_breaker` (one row per UTC day and month, updated in
 * the write step's batch), so a check is two primary-key reads whatever the size of `stages`.
 */

import type { BreakerSnapshot, BreakerThresholds } from "@vault-mcp/contract";

export type TaskBreakerState = "ok" | "warn" | "halt";
type DayBreakerState = BreakerSnapshot["day"]["state"];
type MonthBreakerState = BreakerSnapshot["month"]["state"];

export const dayScope = (now: number): string => `day:${new Date(now).toISOString().slice(0, 10)}`;
export const monthScope = (now: number): string => `month:${new Date(now).toISOString().slice(0, 7)}`;

/**
 * Thresholds are inclusive: reaching the limit trips the breaker ($2.00 warns, $1.99 does not). Spend
 * is a sum of REALs, so compare with a micro-dollar tolerance: 0.7 + 1.3 must count as $2.00.
 */
const reached = (spentUsd: number, limitUsd: number): boolean => spentUsd + 1e-6 >= limitUsd;

export function taskBreaker(spentUsd: number, t: BreakerThresholds, capUsd?: number): TaskBreakerState {
  if (reached(spentUsd, capUsd ?? t.taskHaltUsd)) return "halt";
  if (reached(spentUsd, t.taskWarnUsd)) return "warn";
  return "ok";
}

export function dayBreaker(spentUsd: number, t: BreakerThresholds): DayBreakerState {
  return reached(spentUsd, t.dayBlockUsd) ? "block" : "ok";
}

export function monthBreaker(spentUsd: number, t: BreakerThresholds): MonthBreakerState {
  return reached(spentUsd, t.monthFlagUsd) ? "flag" : "ok";
}

/**
 * What the task aliased `t` and its whole replay chain have spent: a replay shares its original's
 * cap, so the task cap is checked (breaker-check) and raised (a budget answer) against this sum.
 */
export const CHAIN_COST_SQL = `(SELECT COALESCE(SUM(c.cost_usd), 0) FROM tasks c
  WHERE c.id = COALESCE(t.replay_root, t.id) OR c.replay_root = COALESCE(t.replay_root, t.id))`;

/** The day and month rows of `circuit_breaker` (two primary keys). */
export interface SpendRow {
  scope: string;
  spentUsd: number;
  runs: number;
  acknowledgedAt: number | null;
}

/** Pure: the breaker snapshot from the period rows (absent rows count as $0). */
export function snapshotFrom(rows: readonly SpendRow[], t: BreakerThresholds, now: number): BreakerSnapshot {
  const day = dayScope(now);
  const month = monthScope(now);
  const dayRow = rows.find((r) => r.scope === day);
  const monthRow = rows.find((r) => r.scope === month);
  const daySpent = dayRow?.spentUsd ?? 0;
  const monthSpent = monthRow?.spentUsd ?? 0;
  const dayState = dayBreaker(daySpent, t);
  const monthState = monthBreaker(monthSpent, t);
  const acknowledgedAt = monthRow?.acknowledgedAt ?? null;
  return {
    day: { scope: day, spentUsd: daySpent, limitUsd: t.dayBlockUsd, runs: dayRow?.runs ?? 0, state: dayState },
    month: {
      scope: month,
      spentUsd: monthSpent,
      limitUsd: t.monthFlagUsd,
      runs: monthRow?.runs ?? 0,
      state: monthState,
      acknowledgedAt,
    },
    blocked: dayState === "block",
    flagged: monthState === "flag" && acknowledgedAt === null,
  };
}

/** The period-rows read as one prepared statement, for callers that batch it with other reads. */
export function spendRowsStatement(db: D1Database, now: number): D1PreparedStatement {
  return db
    .prepare(
      "SELECT scope, spent_usd AS spentUsd, runs, acknowledged_at AS acknowledgedAt FROM circuit_breaker WHERE scope IN (?1, ?2)",
    )
    .bind(dayScope(now), monthScope(now));
}

export async function readBreakers(db: D1Database, t: BreakerThresholds, now: number): Promise<BreakerSnapshot> {
  const { results } = await spendRowsStatement(db, now).all<SpendRow>();
  return snapshotFrom(results, t, now);
}

/**
 * Statements that add one stage's cost to the day and month totals (and keep each row's `state`
 * column, shown by `wrangler d1` and the dashboard, in step with the thresholds). They are guarded by
 * "no final stage row yet", so a retried write batch (its stage row comes after them) adds nothing twice.
 */
export function addSpendStatements(
  db: D1Database,
  stageId: string,
  costUsd: number,
  now: number,
  t: BreakerThresholds,
): D1PreparedStatement[] {
  const sql = `INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at)
    SELECT ?1, ?2, 1, CASE WHEN ?2 + 1e-6 >= ?5 THEN ?6 ELSE 'ok' END, ?3 WHERE NOT EXISTS (SELECT 1 FROM stages WHERE id = ?4 AND status <> 'running')
    ON CONFLICT(scope) DO UPDATE SET spent_usd = spent_usd + excluded.spent_usd, runs = runs + 1,
      state = CASE WHEN spent_usd + excluded.spent_usd + 1e-6 >= ?5 THEN ?6 ELSE 'ok' END, updated_at = excluded.updated_at`;
  const limits: [string, number, string][] = [
    [dayScope(now), t.dayBlockUsd, "block"],
    [monthScope(now), t.monthFlagUsd, "flag"],
  ];
  return limits.map(([scope, limit, tripped]) => db.prepare(sql).bind(scope, costUsd, now, stageId, limit, tripped));
}
