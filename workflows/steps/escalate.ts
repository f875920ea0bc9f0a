import type { ProfileName, Rung } from "@vault-mcp/contract";
import { type Choice, coolingProfiles, nextProfile } from "../ladder.ts";

/**
 * After a failed run: the next rung above `current`, skipping rungs in cooldown (read now, so a
 * profile that just tripped its cooldown in this task's write is skipped too). Read-only.
 */
export async function escalate(
  db: D1Database,
  ladder: readonly Rung[],
  current: ProfileName,
  now: number,
): Promise<Choice & { from: ProfileName }> {
  return { from: current, ...nextProfile(ladder, current, await coolingProfiles(db, now)) };
}
