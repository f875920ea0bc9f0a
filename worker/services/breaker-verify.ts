/**
 * Breaker state is what the queries say: the running totals in `circuit_breaker` (added to in each
 * stage's write batch, so a breaker check stays two primary-key reads) against the same sums
 * recomputed from `stages` over the UTC day and month. Any difference is drift: a write path that
 * counted a cost without its stage row, or the other way round. docs/BREAKERS.md has the same
 * queries for the D1 console.
 */
import type { BreakerVerification, SpendCheck } from "@vault-mcp/contract";
import { and, count, gte, lt, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { stages } from "../../schema/index.ts";
import { dayScope, monthScope, type SpendRow, spendRows, TOLERANCE_USD } from "../../workflows/breakers.ts";
import { type Db, total } from "../../workflows/d1.ts";

interface Period {
  scope: string;
  from: number;
  to: number;
}

/**
 * What `stages` says was spent in [from, to) (epoch ms, one UTC day or month). A `running` row is an
 * attempt whose result is not written yet: it is counted when it is.
 */
function stageSpend(d: Db, period: Period) {
  return d
    .select({ spentUsd: total(stages.costUsd), runs: count() })
    .from(stages)
    .where(and(gte(stages.createdAt, period.from), lt(stages.createdAt, period.to), ne(stages.status, "running")));
}

/** The UTC day and month that contain `now`, as the scopes the write step keys its totals by. */
export function periodsAt(now: number): { day: Period; month: Period } {
  const d = new Date(now);
  const [y, m] = [d.getUTCFullYear(), d.getUTCMonth()];
  const dayFrom = Date.UTC(y, m, d.getUTCDate());
  return {
    day: { scope: dayScope(now), from: dayFrom, to: Date.UTC(y, m, d.getUTCDate() + 1) },
    month: { scope: monthScope(now), from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1) },
  };
}

/** Pure: one period's comparison (an absent circuit_breaker row counts as $0 and 0 runs). */
export function compare(
  period: Period,
  recorded: Pick<SpendRow, "spentUsd" | "runs"> | undefined,
  computed: { spentUsd: number; runs: number },
): SpendCheck {
  const recordedUsd = recorded?.spentUsd ?? 0;
  const recordedRuns = recorded?.runs ?? 0;
  const diffUsd = recordedUsd - computed.spentUsd;
  return {
    ...period,
    recordedUsd,
    computedUsd: computed.spentUsd,
    diffUsd,
    recordedRuns,
    computedRuns: computed.runs,
    drift: Math.abs(diffUsd) > TOLERANCE_USD || recordedRuns !== computed.runs,
  };
}

/** One D1 batch (one snapshot): the two totals and the two sums over `stages`. */
export async function verifyBreakers(db: D1Database, now: number): Promise<BreakerVerification> {
  const { day, month } = periodsAt(now);
  const d = drizzle(db);
  const [rows, [daySum], [monthSum]] = await d.batch([spendRows(d, now), stageSpend(d, day), stageSpend(d, month)]);
  const none = { spentUsd: 0, runs: 0 };
  const dayCheck = compare(
    day,
    rows.find((r) => r.scope === day.scope),
    daySum ?? none,
  );
  const monthCheck = compare(
    month,
    rows.find((r) => r.scope === month.scope),
    monthSum ?? none,
  );
  return {
    checkedAt: now,
    toleranceUsd: TOLERANCE_USD,
    day: dayCheck,
    month: monthCheck,
    drift: dayCheck.drift || monthCheck.drift,
  };
}
