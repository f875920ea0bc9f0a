/**
 * The spend page's figures in one D1 batch: this month's day rows and month row of `circuit_breaker`
 * (primary-key range: at most 32 rows), the month's most expensive tasks, and `model_stats` (one row
 * per profile and kind). The breaker states come from the same pure function the breakers use.
 */
import type { BreakerSnapshot } from "@vault-mcp/contract";
import { and, desc, gte, like, lt, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../../../core/config.ts";
import { circuitBreaker, modelStats, tasks } from "../../../schema/index.ts";
import { monthScope, snapshotFrom } from "../../../workflows/breakers.ts";
import { firstLine } from "../text.ts";

export interface DaySpend {
  day: string;
  usd: number;
  runs: number;
}

export interface ExpensiveTask {
  id: string;
  status: string;
  repo: string;
  title: string;
  costUsd: number;
}

/** One profile's record, over all kinds or one kind. */
export interface ProfileRecord {
  profile: string;
  kind: string | null;
  runs: number;
  successes: number;
  successRate: number | null;
  totalCostUsd: number;
  /** Every run's cost (failed ones included) over the runs that solved a task. */
  costPerSolveUsd: number | null;
}

export interface SpendView {
  breakers: BreakerSnapshot;
  thresholds: Config["breakers"];
  days: DaySpend[];
  expensive: ExpensiveTask[];
  profiles: ProfileRecord[];
  byKind: ProfileRecord[];
}

function record(profile: string, kind: string | null, runs: number, successes: number, cost: number): ProfileRecord {
  return {
    profile,
    kind,
    runs,
    successes,
    successRate: runs > 0 ? successes / runs : null,
    totalCostUsd: cost,
    costPerSolveUsd: successes > 0 ? cost / successes : null,
  };
}

/** Every day of the month up to today, spent or not, so the chart reads as a calendar. */
function monthDays(periods: readonly { scope: string; spentUsd: number; runs: number }[], month: string, now: number) {
  const byDay = new Map(periods.map((p) => [p.scope, p]));
  const today = new Date(now).getUTCDate();
  return Array.from({ length: today }, (_, i) => {
    const day = `${month}-${String(i + 1).padStart(2, "0")}`;
    const row = byDay.get(`day:${day}`);
    return { day, usd: row?.spentUsd ?? 0, runs: row?.runs ?? 0 };
  });
}

export async function readSpend(db: D1Database, config: Config, now: number): Promise<SpendView> {
  const d = drizzle(db);
  const month = monthScope(now);
  const monthStart = Date.parse(`${month.slice(6)}-01T00:00:00Z`);
  const [periods, expensive, stats] = await d.batch([
    d
      .select({
        scope: circuitBreaker.scope,
        spentUsd: circuitBreaker.spentUsd,
        runs: circuitBreaker.runs,
        acknowledgedAt: circuitBreaker.acknowledgedAt,
      })
      .from(circuitBreaker)
      .where(or(sql`${circuitBreaker.scope} = ${month}`, like(circuitBreaker.scope, `day:${month.slice(6)}-%`))),
    d
      .select({
        id: tasks.id,
        status: tasks.status,
        repo: tasks.repo,
        head: sql<string>`substr(${tasks.prompt}, 1, 200)`,
        costUsd: tasks.costUsd,
      })
      .from(tasks)
      .where(and(gte(tasks.createdAt, monthStart), lt(tasks.createdAt, now + 1), sql`${tasks.costUsd} > 0`))
      .orderBy(desc(tasks.costUsd))
      .limit(10),
    d.select().from(modelStats).orderBy(modelStats.profile, modelStats.taskKind),
  ]);
  const perProfile = new Map<string, { runs: number; successes: number; cost: number }>();
  for (const s of stats) {
    const p = perProfile.get(s.profile) ?? { runs: 0, successes: 0, cost: 0 };
    p.runs += s.runs;
    p.successes += s.successes;
    p.cost += s.totalCostUsd;
    perProfile.set(s.profile, p);
  }
  return {
    breakers: snapshotFrom(periods, config.breakers, now),
    thresholds: config.breakers,
    days: monthDays(periods, month.slice(6), now),
    expensive: expensive.map((t) => ({ ...t, title: firstLine(t.head, 90) })),
    profiles: [...perProfile].map(([profile, p]) => record(profile, null, p.runs, p.successes, p.cost)),
    byKind: stats.map((s) => record(s.profile, s.taskKind, s.runs, s.successes, s.totalCostUsd)),
  };
}
