/** Model statistics and the profile chooser (`workflow_query stats|chooser`). */
import { HUMAN, type ProfileName, type Rung } from "@vault-mcp/contract";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type ModelStatsRow, modelStats, stages } from "../../schema/index.ts";

/** Below this many recent runs of a kind, a profile's figures say little; the ladder order decides. */
const MIN_RUNS_FOR_STATS = 5;
/** A profile good enough to recommend succeeds at least this often. */
const GOOD_SUCCESS_RATE = 0.8;
const RECENT_RUNS = 100;

export async function listModelStats(db: D1Database, kind?: string): Promise<ModelStatsRow[]> {
  const d = drizzle(db);
  const base = d.select().from(modelStats);
  return (kind ? base.where(eq(modelStats.taskKind, kind)) : base).orderBy(modelStats.profile);
}

export interface ProfileFigures {
  profile: ProfileName;
  runs: number;
  successRate: number | null;
  medianCostUsd: number | null;
  medianLatencyMs: number | null;
}

export interface Recommendation {
  kind: string;
  profile: Rung;
  basis: "stats" | "ladder";
  reason: string;
  candidates: ProfileFigures[];
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Pure choice over per-profile figures: the cheapest profile (by median cost, then latency) whose
 * success rate is at least GOOD_SUCCESS_RATE over ≥ MIN_RUNS_FOR_STATS runs; failing that, the
 * best success rate with enough data; with no such data, the first rung of the ladder.
 */
export function choose(kind: string, ladder: readonly Rung[], figures: readonly ProfileFigures[]): Recommendation {
  const enough = figures.filter((f) => f.runs >= MIN_RUNS_FOR_STATS && f.successRate !== null);
  const good = enough
    .filter((f) => (f.successRate ?? 0) >= GOOD_SUCCESS_RATE)
    .sort(
      (a, b) => (a.medianCostUsd ?? 0) - (b.medianCostUsd ?? 0) || (a.medianLatencyMs ?? 0) - (b.medianLatencyMs ?? 0),
    );
  const pct = (r: number | null) => `${Math.round((r ?? 0) * 100)}%`;
  const pick = good[0];
  if (pick) {
    return {
      kind,
      profile: pick.profile,
      basis: "stats",
      reason: `${pick.profile} succeeded ${pct(pick.successRate)} of ${pick.runs} recent '${kind}' runs at a median $${(pick.medianCostUsd ?? 0).toFixed(4)} and ${Math.round(pick.medianLatencyMs ?? 0)} ms: the cheapest with ≥ ${pct(GOOD_SUCCESS_RATE)} success`,
      candidates: [...figures],
    };
  }
  const best = [...enough].sort((a, b) => (b.successRate ?? 0) - (a.successRate ?? 0))[0];
  if (best) {
    return {
      kind,
      profile: best.profile,
      basis: "stats",
      reason: `no profile reaches ${pct(GOOD_SUCCESS_RATE)} success on '${kind}'; ${best.profile} has the best rate (${pct(best.successRate)} of ${best.runs})`,
      candidates: [...figures],
    };
  }
  const first = ladder.find(isProfile);
  return {
    kind,
    profile: first ?? HUMAN,
    basis: "ladder",
    reason: first
      ? `fewer than ${MIN_RUNS_FOR_STATS} runs of '${kind}' per profile; start at the ladder's first rung (${first}) and let it climb`
      : "the configured LADDER has no model rung: every task goes to a human",
    candidates: [...figures],
  };
}

export async function recommendProfile(db: D1Database, kind: string, ladder: readonly Rung[]): Promise<Recommendation> {
  const d = drizzle(db);
  const profiles = ladder.filter(isProfile);
  const queries = profiles.map((p) =>
    d
      .select({ status: stages.status, costUsd: stages.costUsd, latencyMs: stages.latencyMs })
      .from(stages)
      .where(and(eq(stages.profile, p), eq(stages.taskKind, kind)))
      .orderBy(desc(stages.createdAt))
      .limit(RECENT_RUNS),
  );
  const [head, ...rest] = queries;
  const results = head ? await d.batch([head, ...rest]) : [];
  const figures: ProfileFigures[] = profiles.map((profile, i) => {
    const rows = results[i] ?? [];
    return {
      profile,
      runs: rows.length,
      successRate: rows.length ? rows.filter((r) => r.status === "succeeded").length / rows.length : null,
      medianCostUsd: median(rows.map((r) => r.costUsd)),
      medianLatencyMs: median(rows.map((r) => r.latencyMs)),
    };
  });
  return choose(kind, ladder, figures);
}

function isProfile(rung: Rung): rung is ProfileName {
  return rung !== HUMAN;
}
