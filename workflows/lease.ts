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
import type { JobView } from "@vault-mcp/contract";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../core/config.ts";
import { log } from "../core/log.ts";
import { stages, transcripts } from "../schema/index.ts";
import { isFinished } from "./executor-client.ts";
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

/**
 * A finished job of an attempt lost to an expired lease, sent late by its executor (it came back):
 * recorded as a note on that attempt (what it did and cost), never as spend nor as the attempt's
 * outcome, since the attempt already ran again. Once per job (the note's id); false for any other job.
 */
export async function recordLateResult(
  db: D1Database,
  r: { view: JobView; taskId: string; attempt: number; now: number },
): Promise<boolean> {
  if (!isFinished(r.view)) return false;
  const stageId = `${r.taskId}:${r.attempt}`;
  const d = drizzle(db);
  const [row] = await d
    .select({ executorId: stages.executorId })
    .from(stages)
    .where(
      and(
        eq(stages.id, stageId),
        eq(stages.jobId, r.view.jobId),
        eq(stages.status, "interrupted"),
        eq(stages.errorKind, "lease_expired"),
      ),
    );
  if (!row) return false;
  const res = r.view.result;
  const text = `late result from executor ${row.executorId ?? "?"} after its lease expired: ${r.view.status}${res ? `, $${res.costUsd.toFixed(4)}${res.commit ? `, commit ${res.commit.slice(0, 12)}` : ""}` : ""}. Recorded only: the attempt had run again, so this result is neither counted nor paid.`;
  const inserted = await d
    .insert(transcripts)
    .values({
      id: `${stageId}:late`,
      taskId: r.taskId,
      stageId,
      attempt: r.attempt,
      kind: "note",
      content: text,
      bytes: new TextEncoder().encode(text).length,
      createdAt: r.now,
    })
    .onConflictDoNothing({ target: transcripts.id })
    .returning({ id: transcripts.id });
  if (inserted.length > 0)
    log("warn", "late_result", {
      taskId: r.taskId,
      attempt: r.attempt,
      jobId: r.view.jobId,
      executorId: row.executorId,
      status: r.view.status,
      costUsd: res?.costUsd ?? null,
    });
  return true;
}
