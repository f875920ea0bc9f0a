/** Cooldowns as the ops CLI sees them: which profiles the ladder passes over, and clearing one. */
import type { CooldownCleared, CooldownList, ProfileName } from "@vault-mcp/contract";
import { and, eq, gt, max } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { modelStats } from "../../schema/index.ts";

export async function listCooldowns(db: D1Database, now: number): Promise<CooldownList> {
  const rows = await drizzle(db)
    .select({
      profile: modelStats.profile,
      until: max(modelStats.cooldownUntil),
      consecutiveFailures: max(modelStats.consecutiveFailures),
    })
    .from(modelStats)
    .where(gt(modelStats.cooldownUntil, now))
    .groupBy(modelStats.profile)
    .orderBy(modelStats.profile);
  // Every row has a cooldown after `now` (the filter), so both maxima are set.
  return {
    cooldowns: rows.map((r) => ({
      profile: r.profile,
      until: r.until ?? now,
      consecutiveFailures: r.consecutiveFailures ?? 0,
    })),
  };
}

/**
 * Ends a profile's cooldown now (every task kind) and restarts its failure count, so the ladder
 * tries it again; its statistics stay.
 */
export async function clearCooldown(db: D1Database, profile: ProfileName, now: number): Promise<CooldownCleared> {
  const cleared = await drizzle(db)
    .update(modelStats)
    .set({ cooldownUntil: null, consecutiveFailures: 0, updatedAt: now })
    .where(and(eq(modelStats.profile, profile), gt(modelStats.cooldownUntil, now)))
    .returning({ profile: modelStats.profile });
  return { profile, cleared: cleared.length > 0 };
}
