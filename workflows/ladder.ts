/** The escalation ladder: which profile runs next, skipping profiles in cooldown. */
import { and, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { modelStats } from "../schema/index.ts";

export const HUMAN = "human";
/** Consecutive failures of a profile (any kind) that start its cooldown. */
export const COOLDOWN_AFTER_FAILURES = 3;
export const COOLDOWN_MS = 30 * 60_000;

/**
 * The first usable profile at or after `from` in the ladder. Profiles in cooldown are skipped;
 * `human` is never skipped (it is the last resort). A profile not on the ladder runs as asked.
 */
export function firstUsable(ladder: readonly string[], from: string, cooling: ReadonlySet<string>): string {
  const start = ladder.indexOf(from);
  if (start < 0) return from;
  for (const p of ladder.slice(start)) if (p === HUMAN || !cooling.has(p)) return p;
  return HUMAN;
}

/** The profile after `current`; off-ladder profiles escalate straight to a human. */
export function nextProfile(ladder: readonly string[], current: string, cooling: ReadonlySet<string>): string {
  const i = ladder.indexOf(current);
  const next = i < 0 ? undefined : ladder[i + 1];
  return next === undefined ? HUMAN : firstUsable(ladder, next, cooling);
}

export async function coolingProfiles(db: D1Database, now: number): Promise<Set<string>> {
  const rows = await drizzle(db)
    .select({ profile: modelStats.profile })
    .from(modelStats)
    .where(and(gt(modelStats.cooldownUntil, now)));
  return new Set(rows.map((r) => r.profile));
}
