/**
 * The escalation ladder (config LADDER, default deepseek → gemini-flash → gemini-pro → sonnet → opus →
 * consensus → human). Pure choices here; the only D1 read is `coolingProfiles`.
 *
 * Cooldown: a profile with COOLDOWN_AFTER_FAILURES consecutive failed runs (any task kind, counted in
 * model_stats by the write step) is skipped for COOLDOWN_MS when the ladder picks a rung (`auto` and
 * escalation). An explicit choice (a pinned profile's first attempt, a human's `retry` profile) runs
 * as asked: someone chose it knowing the ladder exists.
 */
import { AUTO, HUMAN, type ProfileChoice, type ProfileName, type Rung } from "@vault-mcp/contract";
import { gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { modelStats } from "../schema/index.ts";

export { AUTO, HUMAN };
export const COOLDOWN_AFTER_FAILURES = 3;
export const COOLDOWN_MS = 30 * 60_000;

/** What the next attempt should run: `auto` (the first usable rung), a rung, or a forced profile. */
export interface Wanted {
  profile: ProfileChoice | Rung;
  forced: boolean;
}

export interface Choice {
  profile: Rung;
  /** Rungs passed over because they were cooling down (shown in the breaker-check output). */
  skipped: ProfileName[];
}

/** The first usable rung at or after `from`; `human` is never skipped. Off-ladder profiles run as asked. */
export function firstUsable(ladder: readonly Rung[], from: Rung, cooling: ReadonlySet<string>): Choice {
  const start = ladder.indexOf(from);
  if (start < 0) return { profile: from, skipped: [] };
  const skipped: ProfileName[] = [];
  for (const p of ladder.slice(start)) {
    if (p === HUMAN || !cooling.has(p)) return { profile: p, skipped };
    skipped.push(p);
  }
  return { profile: HUMAN, skipped };
}

export function chooseProfile(ladder: readonly Rung[], wanted: Wanted, cooling: ReadonlySet<string>): Choice {
  if (wanted.profile === AUTO) return firstUsable(ladder, ladder[0] ?? HUMAN, cooling);
  if (wanted.forced) return { profile: wanted.profile, skipped: [] };
  return firstUsable(ladder, wanted.profile, cooling);
}

/** The rung after `current`; the top (or an off-ladder profile) escalates to a human. */
export function nextProfile(ladder: readonly Rung[], current: Rung, cooling: ReadonlySet<string>): Choice {
  const i = ladder.indexOf(current);
  const next = i < 0 ? undefined : ladder[i + 1];
  return next === undefined ? { profile: HUMAN, skipped: [] } : firstUsable(ladder, next, cooling);
}

/** Profiles cooling down now (model_stats is one row per profile × task kind: a small table). */
export async function coolingProfiles(db: D1Database, now: number): Promise<Set<string>> {
  const rows = await drizzle(db)
    .select({ profile: modelStats.profile })
    .from(modelStats)
    .where(gt(modelStats.cooldownUntil, now));
  return new Set(rows.map((r) => r.profile));
}

export const COOLING_SQL = "SELECT DISTINCT profile FROM model_stats WHERE cooldown_until > ?1";
