/**
 * Circuit breakers. Spend totals live in `circuit_breaker` (one row per UTC day and month, updated in
 * the write step's batch), so a check is two primary-key reads whatever the size of `stages`.
 */
import { eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { circuitBreaker } from "../schema/index.ts";
import type { BreakerThresholds } from "../worker/config.ts";

export type TaskBreakerState = "ok" | "warn" | "halt";
export type DayBreakerState = "ok" | "block";
export type MonthBreakerState = "ok" | "flag";

export interface PeriodSpend<S extends string> {
  scope: string;
  spentUsd: number;
  limitUsd: number;
  runs: number;
  state: S;
}

export interface BreakerSnapshot {
  day: PeriodSpend<DayBreakerState>;
  month: PeriodSpend<MonthBreakerState> & { acknowledgedAt: number | null };
  /** No new dispatch until the UTC day rolls over. */
  blocked: boolean;
  /** Runs go on; health and every result carry the flag (until acknowledged). */
  flagged: boolean;
}

export const dayScope = (now: number): string => `day:${new Date(now).toISOString().slice(0, 10)}`;
export const monthScope = (now: number): string => `month:${new Date(now).toISOString().slice(0, 7)}`;

/** Thresholds are inclusive: reaching the limit trips the breaker ($2.00 warns, $1.99 does not). */
export function taskBreaker(spentUsd: number, t: BreakerThresholds, capUsd?: number): TaskBreakerState {
  if (spentUsd >= (capUsd ?? t.taskHaltUsd)) return "halt";
  if (spentUsd >= t.taskWarnUsd) return "warn";
  return "ok";
}

export function dayBreaker(spentUsd: number, t: BreakerThresholds): DayBreakerState {
  return spentUsd >= t.dayBlockUsd ? "block" : "ok";
}

export function monthBreaker(spentUsd: number, t: BreakerThresholds): MonthBreakerState {
  return spentUsd >= t.monthFlagUsd ? "flag" : "ok";
}

export async function readBreakers(db: D1Database, t: BreakerThresholds, now: number): Promise<BreakerSnapshot> {
  const day = dayScope(now);
  const month = monthScope(now);
  const rows = await drizzle(db)
    .select()
    .from(circuitBreaker)
    .where(inArray(circuitBreaker.scope, [day, month]));
  const dayRow = rows.find((r) => r.scope === day);
  const monthRow = rows.find((r) => r.scope === month);
  const daySpent = dayRow?.spentUsd ?? 0;
  const monthSpent = monthRow?.spentUsd ?? 0;
  const dayState = dayBreaker(daySpent, t);
  const monthState = monthBreaker(monthSpent, t);
  const acknowledgedAt = monthRow?.acknowledgedAt ?? null;
  return {
    day: { scope: day, spentUsd: daySpent, limitUsd: t.dayBlockUsd, runs: dayRow?.runs ?? 0, state: dayState },
    month: { scope: month, spentUsd: monthSpent, limitUsd: t.monthFlagUsd, runs: monthRow?.runs ?? 0, state: monthState, acknowledgedAt },
    blocked: dayState === "block",
    flagged: monthState === "flag" && acknowledgedAt === null,
  };
}

/** Acknowledges this month's flag; returns false when there was nothing to acknowledge. */
export async function acknowledgeMonthFlag(db: D1Database, t: BreakerThresholds, now: number, actor: string): Promise<boolean> {
  const scope = monthScope(now);
  const snapshot = await readBreakers(db, t, now);
  if (snapshot.month.state !== "flag") return false;
  await drizzle(db)
    .update(circuitBreaker)
    .set({ acknowledgedAt: now, acknowledgedBy: actor, updatedAt: now })
    .where(eq(circuitBreaker.scope, scope));
  return true;
}

/**
 * Statements that add one stage's cost to the day and month totals. They are guarded by
 * `NOT EXISTS stage`, so a retried write batch (stage insert comes after them) adds nothing twice.
 */
export function addSpendStatements(db: D1Database, stageId: string, costUsd: number, now: number): D1PreparedStatement[] {
  const sql = `INSERT INTO circuit_breaker (scope, spent_usd, runs, state, updated_at)
    SELECT ?1, ?2, 1, 'ok', ?3 WHERE NOT EXISTS (SELECT 1 FROM stages WHERE id = ?4)
    ON CONFLICT(scope) DO UPDATE SET spent_usd = spent_usd + excluded.spent_usd, runs = runs + 1, updated_at = excluded.updated_at`;
  return [dayScope(now), monthScope(now)].map((scope) => db.prepare(sql).bind(scope, costUsd, now, stageId));
}
