/**
 * The executor holding a stage's work: with a pool, a task's worktree and branch live on the
 * executor its attempt ran on (`stages.executor_id`), wherever that executor listens now. Reading
 * the diff, delivering again and discarding all go there, not to EXECUTOR_URL.
 */
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import type { StageRow } from "../../schema/index.ts";
import { type ExecutorClient, executorClient, executorFetch } from "../../workflows/executor-client.ts";
import { findExecutor } from "../../workflows/pool-read.ts";

export async function stageExecutorClient(
  db: D1Database,
  config: Config,
  stage: Pick<StageRow, "taskId" | "attempt" | "executorId">,
  now: number,
): Promise<ExecutorClient> {
  const at = await findExecutor(db, stage.executorId, {
    now,
    leaseMs: config.leaseMs,
    configuredUrl: config.executorUrl,
  });
  if (!at)
    throw new AppError(
      "executor_unavailable",
      `attempt ${stage.attempt} of '${stage.taskId}' ran on executor '${stage.executorId}', which the pool no longer knows (forgotten): its work is gone with it`,
    );
  return executorClient({ executorUrl: at.url, executorSecret: config.executorSecret }, executorFetch());
}
