/**
 * Claiming the executor a job goes to. Many instances dispatch at once (30 tasks started together)
 * and each reads the same free slots; if each simply took the best executor they would all pile onto
 * one. So the claim is a compare-and-set on the executor's row: it moves `claims` on from the count
 * the dispatch read, and the attempt's `running` stage row names the executor only if that move was
 * this dispatch's (one D1 batch, one transaction). A dispatch that lost the race reads the pool again
 * (now with the winner's stage counted) and chooses again.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { executors, stages } from "../schema/index.ts";
import type { Db } from "./d1.ts";
import type { StageBase } from "./steps/facts.ts";
import { runningStageRow } from "./steps/write.ts";

const stageIdFor = (base: StageBase) => `${base.taskId}:${base.attempt}`;

/**
 * Claims `executorId` for this attempt if its `claims` still reads `seen`; writes the attempt's
 * `running` row either way (naming the executor only when the claim held). True when it did.
 */
export async function claimExecutor(
  d: Db,
  base: StageBase,
  claim: { executorId: string; seen: number; token: string },
  now: number,
): Promise<boolean> {
  const stageId = stageIdFor(base);
  const mine = d
    .select({ id: executors.id })
    .from(executors)
    .where(and(eq(executors.id, claim.executorId), eq(executors.claimedBy, claim.token)));
  const [, , [row]] = await d.batch([
    d
      .update(executors)
      .set({ claims: sql`${executors.claims} + 1`, claimedBy: claim.token })
      .where(and(eq(executors.id, claim.executorId), eq(executors.claims, claim.seen))),
    d
      .insert(stages)
      .values(runningStageRow(base, sql`(${mine})`, now))
      .onConflictDoUpdate({
        target: stages.id,
        set: { executorId: sql`excluded.executor_id` },
        // Only a row still waiting for its executor (an earlier lost claim) takes one.
        setWhere: and(isNull(stages.executorId), eq(stages.status, "running")),
      }),
    d.select({ executorId: stages.executorId }).from(stages).where(eq(stages.id, stageId)),
  ]);
  return row?.executorId === claim.executorId;
}
