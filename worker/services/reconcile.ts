/**
 * Reconcile: writes results the workflow could not. A stage keeps its `running` row and job id from
 * dispatch until its result is written; when the write never happened (D1 down past the step's
 * retries, the executor unreachable when the job finished, the instance gone), the result and its
 * cost are still on the executor. This reads them back and writes them with the workflow's own
 * guarded batch, so a stage, its cost and its run are counted once whoever writes first.
 * Run by `vault reconcile` (POST /api/reconcile) and by the scheduled trigger.
 */
import { type ProfileName, type ReconcileReport, TaskId } from "@vault-mcp/contract";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { executorClient, executorFetch, isFinished } from "../../workflows/executor-client.ts";
import { factsFromJob } from "../../workflows/steps/facts.ts";
import { writeStage } from "../../workflows/steps/write.ts";

/** `vault reconcile` and `POST /api/reconcile`. */
export const ReconcileInput = z.strictObject({
  taskId: TaskId.optional().describe("Only this task's unwritten stages (default: every task's)."),
  limit: z.number().int().min(1).max(100).default(20).describe("At most this many stages in one run."),
});
export type ReconcileInput = z.infer<typeof ReconcileInput>;

/** A stage the instance is still handling is left to it until its job can no longer be running. */
const GRACE_MS = 10 * 60_000;

interface Unwritten {
  id: string;
  taskId: string;
  attempt: number;
  kind: string;
  profile: ProfileName;
  jobId: string;
  taskStatus: string;
}

export async function reconcile(
  env: Env,
  config: Config,
  input: ReconcileInput,
  now: number,
): Promise<ReconcileReport> {
  const stale = now - config.jobTimeoutMs - GRACE_MS;
  const { results } = await env.DB.prepare(
    `SELECT s.id, s.task_id AS taskId, s.attempt, s.task_kind AS kind, s.profile, s.job_id AS jobId, t.status AS taskStatus
       FROM stages s JOIN tasks t ON t.id = s.task_id
      WHERE s.status = 'running' AND s.job_id IS NOT NULL AND (?1 IS NULL OR s.task_id = ?1)
        AND (t.status <> 'running' OR s.created_at < ?2)
      ORDER BY s.created_at LIMIT ?3`,
  )
    .bind(input.taskId ?? null, stale, input.limit)
    .all<Unwritten>();
  const client = executorClient(config, executorFetch());
  const items: ReconcileReport["items"] = [];
  for (const s of results) {
    const item = { taskId: s.taskId, attempt: s.attempt, jobId: s.jobId };
    try {
      const view = await client.getJob(s.jobId);
      if (!isFinished(view)) {
        items.push({ ...item, outcome: "still_running" });
        continue;
      }
      const facts = factsFromJob(view, { taskId: s.taskId, attempt: s.attempt, kind: s.kind, profile: s.profile });
      const written = await writeStage(env.DB, facts, now, config.breakers);
      // The instance had ended on this unwritten result: the task now says what really happened.
      if (s.taskStatus === "failed")
        await settleTask(env.DB, s.taskId, s.attempt, written.ok, written.errorMessage, now);
      items.push({ ...item, outcome: "written", status: written.status, costUsd: written.costUsd });
    } catch (err) {
      log("warn", "reconcile_failed", { taskId: s.taskId, attempt: s.attempt, error: describe(err) });
      items.push({ ...item, outcome: "error", reason: describe(err).slice(0, 300) });
    }
  }
  const count = (o: string) => items.filter((i) => i.outcome === o).length;
  return { items, written: count("written"), stillRunning: count("still_running"), errors: count("error") };
}

/** A failed task whose last attempt was the unwritten one takes that attempt's outcome. */
async function settleTask(
  db: D1Database,
  taskId: string,
  attempt: number,
  ok: boolean,
  message: string | null,
  now: number,
): Promise<void> {
  await db
    .prepare(
      `UPDATE tasks SET status = CASE WHEN ?1 THEN 'succeeded' ELSE status END,
         error = CASE WHEN ?1 THEN NULL ELSE ?2 END, updated_at = ?3
       WHERE id = ?4 AND status = 'failed' AND NOT EXISTS (SELECT 1 FROM stages WHERE task_id = ?4 AND attempt > ?5)`,
    )
    .bind(ok ? 1 : 0, message ? `attempt ${attempt}: ${message}`.slice(0, 2000) : null, now, taskId, attempt)
    .run();
}
