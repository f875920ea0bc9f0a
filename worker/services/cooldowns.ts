/** Cooldowns as the ops CLI sees them: which profiles the ladder passes over, and clearing one. */
import type { CooldownCleared, CooldownList, ProfileName } from "@vault-mcp/contract";

export async function listCooldowns(db: D1Database, now: number): Promise<CooldownList> {
  const { results } = await db
    .prepare(
      `SELECT profile, MAX(cooldown_until) AS until, MAX(consecutive_failures) AS consecutiveFailures
         FROM model_stats WHERE cooldown_until > ?1 GROUP BY profile ORDER BY profile`,
    )
    .bind(now)
    .all<CooldownList["cooldowns"][number]>();
  return { cooldowns: results };
}

/**
 * Ends a profile's cooldown now (every task kind) and restarts its failure count, so the ladder
 * tries it again; its statistics stay.
 */
export async function clearCooldown(db: D1Database, profile: ProfileName, now: number): Promise<CooldownCleared> {
  const r = await db
    .prepare(
      "UPDATE model_stats SET cooldown_until = NULL, consecutive_failures = 0, updated_at = ?1 WHERE profile = ?2 AND cooldown_until > ?1",
    )
    .bind(now, profile)
    .run();
  return { profile, cleared: r.meta.changes > 0 };
}
