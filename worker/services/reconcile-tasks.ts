/**
 * Tasks whose instance stopped moving, with no unwritten stage for reconcile.ts to go by:
 *   - `running` with no change to the row for STALE_MS and no job out (a step retrying against a down
 *     executor writes nothing for a few minutes at most);
 *   - `halted` / `needs_human` still waiting a day (plus STALE_MS) after their 24-hour wait began.
 * A live instance is sent WAKE_EVENT: an engine that lost its timers (local `wrangler dev` restarted
 * under it) resumes it and replays it into the step or wait it was in; an instance that is merely
 * slow only stores the event. An instance that ended (or is gone) without ending its task leaves the
 * task to us: a running one ends `failed` saying so; a waiting one keeps its status, no longer waiting.
 */
import type { ReconcileReport, TaskStatus } from "@vault-mcp/contract";
import { and, eq, inArray, isNotNull, lt, notExists, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { stages, tasks } from "../../schema/index.ts";
import { WAKE_EVENT } from "../../workflows/params.ts";
import { instanceState, sendToInstance } from "./instances.ts";

/** Longer than any healthy stretch of a running task without a D1 write (readiness + dispatch retries). */
export const STALE_MS = 15 * 60_000;
/** The human and budget waits (workflows/step-config.ts). */
const ANSWER_WAIT_MS = 24 * 60 * 60_000;

const WAITING: TaskStatus[] = ["halted", "needs_human"];

export async function resumeStaleTasks(
  env: Env,
  input: { taskId?: string | undefined; limit: number },
  now: number,
): Promise<ReconcileReport["tasks"]> {
  const d = drizzle(env.DB);
  const rows = await d
    .select({ taskId: tasks.id, status: tasks.status })
    .from(tasks)
    .where(
      and(
        input.taskId === undefined ? undefined : eq(tasks.id, input.taskId),
        or(
          and(
            eq(tasks.status, "running"),
            lt(tasks.updatedAt, now - STALE_MS),
            // A job out is reconcile.ts's to look at (it knows whether the job finished).
            notExists(
              d
                .select({ id: stages.id })
                .from(stages)
                .where(and(eq(stages.taskId, tasks.id), eq(stages.status, "running"), isNotNull(stages.jobId))),
            ),
          ),
          and(
            inArray(tasks.status, WAITING),
            isNotNull(tasks.waitingFor),
            lt(tasks.updatedAt, now - ANSWER_WAIT_MS - STALE_MS),
          ),
        ),
      ),
    )
    .orderBy(tasks.updatedAt)
    .limit(input.limit);
  const out: ReconcileReport["tasks"] = [];
  for (const row of rows) {
    try {
      const instance = await instanceState(env, row.taskId);
      if (instance.state === "paused") continue;
      if (instance.state === "live") {
        await sendToInstance(env, row.taskId, WAKE_EVENT, {});
        log("info", "reconcile_woke", { taskId: row.taskId, status: row.status });
        out.push({ taskId: row.taskId, outcome: "woken" });
        continue;
      }
      const gone =
        instance.state === "missing"
          ? "its workflow instance no longer exists"
          : `its workflow instance ${instance.status ?? "ended"} before the task ended; see 'wrangler workflows instances describe execute-workflow ${row.taskId}'`;
      const status: TaskStatus = row.status === "running" ? "failed" : row.status;
      await d
        .update(tasks)
        .set({ status, ...(status === "failed" ? { error: gone } : {}), waitingFor: null, updatedAt: now })
        .where(and(eq(tasks.id, row.taskId), eq(tasks.status, row.status)));
      out.push({ taskId: row.taskId, outcome: "ended", status, reason: gone });
    } catch (err) {
      log("warn", "reconcile_task_failed", { taskId: row.taskId, error: describe(err) });
      out.push({ taskId: row.taskId, outcome: "error", reason: describe(err).slice(0, 300) });
    }
  }
  return out;
}
