/**
 * Reconcile: finishes what the workflow could not. A stage keeps its `running` row and job id from
 * dispatch until its result is written. For each such stage whose job has finished on the executor:
 *   - the task's instance is still live (it lost the callback, or a local engine restart lost its
 *     timers): it is sent the result event it waits for, so the instance itself writes the stage and
 *     goes on (nothing is written behind its back);
 *   - the instance has ended or is gone (D1 down past the write's retries, the executor unreachable
 *     when the wait ran out, the instance errored): the stage is written here with the workflow's own
 *     guarded batch (a stage, its cost and its run count once whoever writes first), and a task that
 *     ended on that attempt, or never ended, takes its real outcome (succeeded, or failed with why).
 * Tasks with no unwritten stage whose instance stopped moving are handled by ./reconcile-tasks.ts.
 * Run by `vault reconcile` (POST /api/reconcile), the cron trigger, and `npm start` every minute.
 */
import { type ReconcileReport, TaskId, type TaskStatus } from "@vault-mcp/contract";
import { and, eq, gt, inArray, isNotNull, lt, notExists, notInArray, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { stages, tasks } from "../../schema/index.ts";
import { executorClient, executorFetch, isFinished } from "../../workflows/executor-client.ts";
import { resultEventType } from "../../workflows/params.ts";
import { slimJobView } from "../../workflows/result-event.ts";
import { resultWait } from "../../workflows/step-config.ts";
import { factsFromJob } from "../../workflows/steps/facts.ts";
import { type Written, writeStage } from "../../workflows/steps/write.ts";
import { instanceState, sendToInstance } from "./instances.ts";
import { resumeStaleTasks } from "./reconcile-tasks.ts";

/** `vault reconcile` and `POST /api/reconcile`. */
export const ReconcileInput = z.strictObject({
  taskId: TaskId.optional().describe("Only this task (default: every task)."),
  limit: z.number().int().min(1).max(100).default(20).describe("At most this many stages, and tasks, in one run."),
});
export type ReconcileInput = z.infer<typeof ReconcileInput>;

/** Tasks an instance is still meant to move. */
const UNFINISHED: TaskStatus[] = ["init", "running"];

/**
 * A running task's stage is its instance's own business for one period of the result wait (the
 * instance polls the executor after each), plus this margin; after that, a finished job whose stage
 * is unwritten means the instance missed it.
 */
const QUIET_MARGIN_MS = 30_000;
export const quietMs = (jobTimeoutMs: number): number => resultWait(jobTimeoutMs).periodMs + QUIET_MARGIN_MS;

export async function reconcile(
  env: Env,
  config: Config,
  input: ReconcileInput,
  now: number,
): Promise<ReconcileReport> {
  const items = await reconcileStages(env, config, input, now);
  const taskItems = await resumeStaleTasks(env, input, now);
  const count = (o: string) => items.filter((i) => i.outcome === o).length;
  return {
    items,
    tasks: taskItems,
    written: count("written"),
    woken: count("woken"),
    stillRunning: count("still_running"),
    errors: count("error") + taskItems.filter((t) => t.outcome === "error").length,
  };
}

async function reconcileStages(
  env: Env,
  config: Config,
  input: ReconcileInput,
  now: number,
): Promise<ReconcileReport["items"]> {
  const quietSince = now - quietMs(config.jobTimeoutMs);
  const results = await drizzle(env.DB)
    .select({
      taskId: stages.taskId,
      attempt: stages.attempt,
      kind: stages.taskKind,
      profile: stages.profile,
      jobId: stages.jobId,
      taskStatus: tasks.status,
    })
    .from(stages)
    .innerJoin(tasks, eq(tasks.id, stages.taskId))
    .where(
      and(
        eq(stages.status, "running"),
        isNotNull(stages.jobId),
        input.taskId === undefined ? undefined : eq(stages.taskId, input.taskId),
        or(notInArray(tasks.status, UNFINISHED), lt(stages.createdAt, quietSince)),
      ),
    )
    .orderBy(stages.createdAt)
    .limit(input.limit);
  const client = executorClient(config, executorFetch());
  const items: ReconcileReport["items"] = [];
  for (const s of results) {
    // Selected where job_id is set; the type cannot say so.
    if (s.jobId === null) continue;
    const item = { taskId: s.taskId, attempt: s.attempt, jobId: s.jobId };
    try {
      const view = await client.getJob(s.jobId);
      if (!isFinished(view)) {
        items.push({ ...item, outcome: "still_running" });
        continue;
      }
      if (UNFINISHED.includes(s.taskStatus)) {
        const instance = await instanceState(env, s.taskId);
        // Someone paused it: theirs to resume.
        if (instance.state === "paused") continue;
        if (instance.state === "live") {
          // Its wait takes this event (or its next poll finds the job finished): the instance writes.
          await sendToInstance(env, s.taskId, resultEventType(s.attempt), slimJobView(view));
          log("info", "reconcile_woke", { taskId: s.taskId, attempt: s.attempt, jobId: s.jobId });
          items.push({ ...item, outcome: "woken" });
          continue;
        }
      }
      const facts = factsFromJob(view, { taskId: s.taskId, attempt: s.attempt, kind: s.kind, profile: s.profile });
      const written = await writeStage(env.DB, facts, now, config.breakers);
      await settleTask(env.DB, { taskId: s.taskId, attempt: s.attempt, profile: s.profile, written }, now);
      items.push({ ...item, outcome: "written", status: written.status, costUsd: written.costUsd });
    } catch (err) {
      log("warn", "reconcile_failed", { taskId: s.taskId, attempt: s.attempt, error: describe(err) });
      items.push({ ...item, outcome: "error", reason: describe(err).slice(0, 300) });
    }
  }
  return items;
}

/**
 * No instance will end the task any more: if the written attempt is its last one and the task is
 * still unfinished, or ended `failed` on that unwritten result, it takes that attempt's outcome.
 */
async function settleTask(
  db: D1Database,
  settled: { taskId: string; attempt: number; profile: string; written: Written },
  now: number,
): Promise<void> {
  const { taskId, attempt, profile, written } = settled;
  const d = drizzle(db);
  const why = written.errorMessage ?? written.errorKind ?? written.status;
  await d
    .update(tasks)
    .set(
      written.ok
        ? { status: "succeeded", error: null, waitingFor: null, updatedAt: now }
        : {
            status: "failed",
            error: `attempt ${attempt} (${profile}): ${why}`.slice(0, 2000),
            waitingFor: null,
            updatedAt: now,
          },
    )
    .where(
      and(
        eq(tasks.id, taskId),
        inArray(tasks.status, [...UNFINISHED, "failed"]),
        notExists(
          d
            .select({ id: stages.id })
            .from(stages)
            .where(and(eq(stages.taskId, taskId), gt(stages.attempt, attempt))),
        ),
      ),
    );
}
