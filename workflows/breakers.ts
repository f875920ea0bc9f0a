/**
 * Circuit breakers. Spend totals live in `circuit_breaker` (one row per UTC day and month, updated in
 * the write step's batch), so a check is two primary-key reads whatever the size of `stages`.
 */

import type { BreakerSnapshot, BreakerThresholds } from "@vault-mcp/contract";
import { and, eq, inArray, ne, notExists, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { alias, QueryBuilder } from "drizzle-orm/sqlite-core";
import { circuitBreaker, stages, tasks } from "../schema/index.ts";
import { bound, type Db, type InsertSelect, type Statement, total } from "./d1.ts";

export type TaskBreakerState = "ok" | "warn" | "halt";
type DayBreakerState = BreakerSnapshot["day"]["state"];
type MonthBreakerState = BreakerSnapshot["month"]["state"];

export const dayScope = (now: number): string => `day:${new Date(now).toISOString().slice(0, 10)}`;
export const monthScope = (now: number): string => `month:${new Date(now).toISOString().slice(0, 7)}`;

/**
 * Thresholds are inclusive: reaching the limit trips the breaker ($2.00 warns, $1.99 does not). Spend
 * is a sum of REALs, so compare with a micro-dollar tolerance: 0.7 + 1.3 must count as $2.00 (and
 * below a micro-dollar a difference between two totals is rounding, not drift).
 */
export const TOLERANCE_USD = 1e-6;
const reached = (spentUsd: number, limitUsd: number): boolean => spentUsd + TOLERANCE_USD >= limitUsd;

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

/** The day and month rows of `circuit_breaker` (two primary keys). */
export type SpendRow = Pick<typeof circuitBreaker.$inferSelect, "scope" | "spentUsd" | "runs" | "acknowledgedAt">;

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

/** The period rows as one query, for callers that batch it with other reads. */
export function spendRows(d: Db, now: number) {
  return d
    .select({
      scope: circuitBreaker.scope,
      spentUsd: circuitBreaker.spentUsd,
      runs: circuitBreaker.runs,
      acknowledgedAt: circuitBreaker.acknowledgedAt,
    })
    .from(circuitBreaker)
    .where(inArray(circuitBreaker.scope, [dayScope(now), monthScope(now)]));
}

export async function readBreakers(db: D1Database, t: BreakerThresholds, now: number): Promise<BreakerSnapshot> {
  return snapshotFrom(await spendRows(drizzle(db), now), t, now);
}

const chain = alias(tasks, "chain");
/** Builds subqueries; they run inside the statement that embeds them. */
const qb = new QueryBuilder();

/**
 * What the task row `t` of the enclosing query and its whole replay chain have spent: a replay shares
 * its original's cap, so the task cap is checked (breaker-check) and raised (a budget answer) against
 * this sum.
 */
export function chainCost(): SQL<number> {
  const root = sql`coalesce(${tasks.replayRoot}, ${tasks.id})`;
  const spent = qb
    .select({ spent: total(chain.costUsd).as("spent") })
    .from(chain)
    .where(or(eq(chain.id, root), eq(chain.replayRoot, root)));
  return sql<number>`${spent}`.mapWith(Number);
}

/**
 * "This attempt has no final row yet": no row, or the `running` row dispatch wrote. Every statement
 * of a stage write is guarded by it and the stage row comes last, so however often a write runs (a
 * retried step, reconcile racing the instance) its cost, run and row land once.
 */
export function notWritten(stageId: string): SQL {
  return notExists(
    qb
      .select({ id: stages.id })
      .from(stages)
      .where(and(eq(stages.id, stageId), ne(stages.status, "running"))),
  );
}

export interface SpendAdded {
  /** The stage's task: the insert reads its row, so nothing is added for a task that does not exist. */
  taskId: string;
  stageId: string;
  costUsd: number;
  now: number;
  thresholds: BreakerThresholds;
}

/**
 * Statements that add one stage's cost to the day and month totals (and keep each row's `state`
 * column, shown by `wrangler d1` and the dashboard, in step with the thresholds). They are guarded by
 * "no final stage row yet", so a retried write batch (its stage row comes after them) adds nothing twice.
 */
export function addSpendStatements(d: Db, s: SpendAdded): [Statement, Statement] {
  const add = (scope: string, limitUsd: number, tripped: "block" | "flag"): Statement => {
    const row: InsertSelect<typeof circuitBreaker> = {
      scope: bound(circuitBreaker.scope, scope),
      spentUsd: bound(circuitBreaker.spentUsd, s.costUsd),
      runs: bound(circuitBreaker.runs, 1),
      state: bound(circuitBreaker.state, reached(s.costUsd, limitUsd) ? tripped : "ok"),
      acknowledgedAt: bound(circuitBreaker.acknowledgedAt, null),
      acknowledgedBy: bound(circuitBreaker.acknowledgedBy, null),
      updatedAt: bound(circuitBreaker.updatedAt, s.now),
    };
    const spent = sql`${circuitBreaker.spentUsd} + ${s.costUsd}`;
    return d
      .insert(circuitBreaker)
      .select(
        d
          .select(row)
          .from(tasks)
          .where(and(eq(tasks.id, s.taskId), notWritten(s.stageId))),
      )
      .onConflictDoUpdate({
        target: circuitBreaker.scope,
        set: {
          spentUsd: spent,
          runs: sql`${circuitBreaker.runs} + 1`,
          state: sql`case when ${spent} + ${TOLERANCE_USD} >= ${limitUsd} then ${tripped} else 'ok' end`,
          updatedAt: s.now,
        },
      });
  };
  return [
    add(dayScope(s.now), s.thresholds.dayBlockUsd, "block"),
    add(monthScope(s.now), s.thresholds.monthFlagUsd, "flag"),
  ];
}
