/**
 * Reconcile: writes results the workflow could not. A stage keeps its `running` row and job id from
 * dispatch until its result is written; when the write never happened (D1 down past the step's
 * retries, the executor unreachable when the job finished, the instance gone), the result and its
 * cost are still on the executor. This reads them back and writes them with the workflow's own
 * guarded batch, so a stage, its cost and its run are counted once whoever writes first.
 * Run by `vault reconcile` (POST /api/reconcile) and by the scheduled trigger.
 */
import { type ReconcileReport, TaskId } from "@vault-mcp/contract";
import { and, eq, gt, isNotNull, lt, ne, notExists, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { stages, tasks } from "../../schema/index.ts";
import { executorClient, executorFetch, isFinished } from "../../workflows/executor-client.ts";
import { findExecutor } from "../../workflows/pool-read.ts";
import { factsFromJob } from "../../workflows/steps/facts.ts";
import { type Written, writeStage } from "../../workflows/steps/write.ts";

/** `vault reconcile` and `POST /api/reconcile`. */
export const ReconcileInput = z.strictObject({
  taskId: TaskId.optional().describe("Only this task's unwritten stages (default: every task's)."),
  limit: z.number().int().min(1).max(100).default(20).describe("At most this many stages in one run."),
});
export type ReconcileInput = z.infer<typeof ReconcileInput>;

/** A stage the instance is still handling is left to it until its job can no longer be running. */
const GRACE_MS = 10 * 60_000;

export async function reconcile(
  env: Env,
  config: Config,
  input: ReconcileInput,
  now: number,
): Promise<ReconcileReport> {
  const stale = now - config.jobTimeoutMs - GRACE_MS;
  const results = await drizzle(env.DB)
    .select({
      taskId: stages.taskId,
      attempt: stages.attempt,
      kind: stages.taskKind,
      profile: stages.profile,
      jobId: stages.jobId,
      executorId: stages.executorId,
      taskStatus: tasks.status,
    })
    .from(stages)
    .innerJoin(tasks, eq(tasks.id, stages.taskId))
    .where(
      and(
        eq(stages.status, "running"),
        isNotNull(stages.jobId),
        input.taskId === undefined ? undefined : eq(stages.taskId, input.taskId),
        or(ne(tasks.status, "running"), lt(stages.createdAt, stale)),
      ),
    )
    .orderBy(stages.createdAt)
    .limit(input.limit);
  const fetchFn = executorFetch();
  const items: ReconcileReport["items"] = [];
  for (const s of results) {
    // Selected where job_id is set; the type cannot say so.
    if (s.jobId === null) continue;
    const item = { taskId: s.taskId, attempt: s.attempt, jobId: s.jobId };
    try {
      // The executor the job went to, wherever it listens now (a pool member may have moved).
      const at = await findExecutor(env.DB, s.executorId, {
        now,
        leaseMs: config.leaseMs,
        configuredUrl: config.executorUrl,
      });
      if (!at) throw new Error(`executor '${s.executorId}' is no longer in the pool`);
      const client = executorClient({ executorUrl: at.url, executorSecret: config.executorSecret }, fetchFn);
      const view = await client.getJob(s.jobId);
      if (!isFinished(view)) {
        items.push({ ...item, outcome: "still_running" });
        continue;
      }
      const facts = factsFromJob(view, { taskId: s.taskId, attempt: s.attempt, kind: s.kind, profile: s.profile });
      const written = await writeStage(env.DB, facts, now, config.breakers);
      // The instance had ended on this unwritten result: the task now says what really happened.
      if (s.taskStatus === "failed") await settleTask(env.DB, { taskId: s.taskId, attempt: s.attempt, written }, now);
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
  settled: { taskId: string; attempt: number; written: Written },
  now: number,
): Promise<void> {
  const { taskId, attempt, written } = settled;
  const d = drizzle(db);
  await d
    .update(tasks)
    .set(
      written.ok
        ? { status: "succeeded", error: null, updatedAt: now }
        : {
            error: written.errorMessage ? `attempt ${attempt}: ${written.errorMessage}`.slice(0, 2000) : null,
            updatedAt: now,
          },
    )
    .where(
      and(
        eq(tasks.id, taskId),
        eq(tasks.status, "failed"),
        notExists(
          d
            .select({ id: stages.id })
            .from(stages)
            .where(and(eq(stages.taskId, taskId), gt(stages.attempt, attempt))),
        ),
      ),
    );
}
