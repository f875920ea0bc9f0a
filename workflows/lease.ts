/**
 * A job is leased to its executor for as long as that executor heartbeats. When the executor has
 * been silent for longer than the lease (EXECUTOR_LEASE_MS) while the job runs, the attempt counts as
 * interrupted: its stage is written `interrupted` (error kind `lease_expired`, no cost: nothing came
 * back) and the workflow dispatches the same profile again under the next attempt, so a new job key,
 * on another executor (at most twice in a row, as for an executor restart). Whatever the lost
 * executor sends later for the old key is for an attempt whose row is final: its callback wakes no
 * wait (the event type is per attempt) and no write counts it again (every write is guarded by the
 * stage row).
 */
import type { Config } from "../core/config.ts";
import { findExecutor } from "./pool-read.ts";
import { errorFacts, type StageBase, type StageFacts } from "./steps/facts.ts";

/** Whether the executor `executorId` still holds its lease (heartbeat within it; `default` always). */
export async function leaseHolds(
  db: D1Database,
  executorId: string,
  config: Pick<Config, "leaseMs" | "executorUrl">,
  now: number,
): Promise<boolean> {
  const found = await findExecutor(db, executorId, { now, leaseMs: config.leaseMs, configuredUrl: config.executorUrl });
  return found?.fresh ?? false;
}

/** The stage of an attempt whose executor's lease expired. */
export function lapsedFacts(
  base: StageBase,
  lapse: { executorId: string; jobId: string | null; leaseMs: number },
): StageFacts {
  return {
    ...errorFacts(
      base,
      "lease_expired",
      `executor ${lapse.executorId} sent no heartbeat for over ${Math.round(lapse.leaseMs / 1000)} s while the job ran; the attempt runs again on another executor`,
      lapse.jobId,
    ),
    status: "interrupted",
    // A job the executor accepted counts as a run that started (re-dispatched at most twice in a
    // row); one it never confirmed (the dispatch found the lease gone) is simply sent again.
    started: lapse.jobId !== null,
  };
}
