/**
 * A task's change after its workflow has ended: shown (`taskChange`), delivered again (`vault
 * deliver`, `POST /api/tasks/:id/deliver`: the workflow instance has finished, so the Worker asks
 * the executor itself, with the same function the `deliver #n` step runs), or thrown away when the
 * task is closed with `discard` (its pull request closed, its branch deleted).
 */
import { DeliveryMode, type TaskChange, type TaskDelivered, TaskId, TERMINAL_TASK_STATUSES } from "@vault-mcp/contract";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { type StageRow, stages, type TaskRow, tasks } from "../../schema/index.ts";
import { ExecutorError, executorStep } from "../../workflows/executor-client.ts";
import { deliverWork, deliveryBranch } from "../../workflows/steps/deliver.ts";
import { findRepo } from "./repos.ts";
import { stageExecutorClient } from "./stage-executor.ts";
import { closeTask, requireTask, type TaskClose } from "./tasks.ts";

/** The change on a task row, once an attempt succeeded with one; undefined before. */
export function taskChange(t: TaskRow): TaskChange | undefined {
  if (t.branch === null || t.commit === null) return undefined;
  return {
    deliver: t.deliver ?? "none",
    branch: t.branch,
    commit: t.commit,
    files: t.diffFiles ?? 0,
    added: t.diffAdded ?? 0,
    deleted: t.diffDeleted ?? 0,
    delivery: t.delivery,
    prUrl: t.prUrl,
    deliveryError: t.deliveryError,
  };
}

/** The attempt whose work a task delivers: its (last) succeeded one with a commit. */
export async function succeededStage(db: D1Database, taskId: string): Promise<StageRow | null> {
  const [row] = await drizzle(db)
    .select()
    .from(stages)
    .where(and(eq(stages.taskId, taskId), eq(stages.status, "succeeded"), isNotNull(stages.jobId)))
    .orderBy(desc(stages.attempt))
    .limit(1);
  return row ?? null;
}

/** `vault deliver` and `POST /api/tasks/:id/deliver`. */
export const TaskDeliver = z.strictObject({
  taskId: TaskId,
  deliver: DeliveryMode.optional().describe(
    "deliver: push or pr for this delivery (default: the task's own, else its repo's); stored on the task.",
  ),
});
export type TaskDeliver = z.infer<typeof TaskDeliver>;

/** A single try, its failure as data: the caller (a person) decides when to try again. */
const oneTry = <T>(body: () => Promise<T>) => executorStep({ attempt: 1, config: {} }, body);

/**
 * Delivers a succeeded task's work again (or for the first time, with `deliver`). Synchronous: the
 * executor answers within its DELIVERY_TIMEOUT_MS. A failure is recorded on the task (flag
 * `delivery_failed`, `deliveryError`) and answered `502 delivery_failed` with what to fix.
 */
export async function redeliver(env: Env, config: Config, input: TaskDeliver, now: number): Promise<TaskDelivered> {
  const { taskId } = input;
  const task = await requireTask(env.DB, taskId);
  if (task.status !== "succeeded")
    throw new AppError(
      "conflict",
      `task '${taskId}' is ${task.status}: only a succeeded task's work is delivered${task.status === "closed" ? " (it was closed)" : ""}`,
    );
  const stage = await succeededStage(env.DB, taskId);
  if (!stage?.jobId || !stage.commit)
    throw new AppError("conflict", `task '${taskId}' changed no file: there is nothing to deliver`);
  const repo = await findRepo(env.DB, task.repo);
  if (!repo)
    throw new AppError(
      "conflict",
      `repo '${task.repo}' is not registered by URL, so there is nowhere to deliver to: register it with 'vault repos add ${task.repo} <URL>'`,
    );
  const mode = input.deliver ?? (task.deliver && task.deliver !== "none" ? task.deliver : repo.deliver);
  if (mode === "none")
    throw new AppError("conflict", `task '${taskId}' and repo '${repo.name}' deliver 'none': give deliver push or pr`);
  if (mode === "pr" && !repo.github)
    throw new AppError(
      "invalid_input",
      `repo '${repo.name}' has no github OWNER/REPO for a pull request: set it with 'vault repos add ${repo.name} ${repo.url} --github OWNER/REPO', or deliver push`,
    );
  const client = await stageExecutorClient(env.DB, config, stage, now);
  const delivery = { mode, ...(mode === "pr" && repo.github ? { github: repo.github } : {}) };
  const out = await deliverWork(
    env.DB,
    { client, taskId, attempt: stage.attempt, jobId: stage.jobId, delivery },
    oneTry,
    () => now,
  );
  if (!out.ok) throw new AppError("delivery_failed", out.message ?? "delivery failed");
  const [row] = await drizzle(env.DB).update(tasks).set({ deliver: mode }).where(eq(tasks.id, taskId)).returning();
  const change = row ? taskChange(row) : undefined;
  if (!change) throw new AppError("internal", `task '${taskId}' lost its change`);
  return { taskId, change };
}

/**
 * `workflow close` / `POST /api/tasks/:id/close`. With `discard`, the delivered work is thrown away
 * first (the executor closes the branch's pull requests, then deletes the branch): if that fails,
 * the task is not closed, so closing again retries it. A plain close leaves both.
 */
export async function closeWithDiscard(
  env: Env,
  config: Config,
  input: TaskClose & { actor: string },
  now: number,
): Promise<TaskRow> {
  if (!input.discard) return closeTask(env.DB, input, now);
  const task = await requireTask(env.DB, input.taskId);
  if (!TERMINAL_TASK_STATUSES.includes(task.status)) return closeTask(env.DB, input, now);
  const stage = await succeededStage(env.DB, task.id);
  if (!stage?.jobId || (task.deliver ?? "none") === "none") return closeTask(env.DB, input, now, { discarded: null });
  const repo = await findRepo(env.DB, task.repo);
  const github = task.deliver === "pr" ? repo?.github : null;
  const client = await stageExecutorClient(env.DB, config, stage, now);
  let result: Awaited<ReturnType<typeof client.discard>>;
  try {
    result = await client.discard(stage.jobId, {
      branch: deliveryBranch(task.id),
      ...(github ? { github } : {}),
    });
  } catch (err) {
    if (!(err instanceof ExecutorError)) throw err;
    throw new AppError(
      err.retryable ? "executor_unavailable" : "delivery_failed",
      `could not discard the work of '${task.id}', so it is not closed: ${err.message}; close it with discard again`,
      { cause: err },
    );
  }
  await drizzle(env.DB).update(tasks).set({ delivery: "discarded", updatedAt: now }).where(eq(tasks.id, task.id));
  return closeTask(env.DB, input, now, { discarded: result });
}
