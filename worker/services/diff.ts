/**
 * Review before close: the unified diff of a task's work against the commit it started from, read
 * from the executor (`GET /jobs/:id/diff`) page by page (≤ 64 KiB each, diffstat on the first), so a
 * model can read it within its context. `workflow_query diff`, `GET /api/tasks/:id/diff`, `vault
 * tasks diff`.
 */
import { DiffSide, type TaskDiffPage, TaskId } from "@vault-mcp/contract";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { type StageRow, stages } from "../../schema/index.ts";
import { ExecutorError } from "../../workflows/executor-client.ts";
import { succeededStage } from "./delivery.ts";
import { stageExecutorClient } from "./stage-executor.ts";
import { requireTask } from "./tasks.ts";

export const TaskDiffQuery = z.strictObject({
  taskId: TaskId,
  cursor: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe("diff: the `cursor` of the page before, for the next page (absent: the first page, with the diffstat)."),
  side: DiffSide.default("a").describe("diff: 'a' (default), or 'b' for the second model of a consensus attempt."),
});
export type TaskDiffQuery = z.infer<typeof TaskDiffQuery>;

/** The succeeded attempt; before one exists, the latest attempt that committed something (a failed verify). */
async function reviewedStage(db: D1Database, taskId: string): Promise<StageRow | null> {
  const won = await succeededStage(db, taskId);
  if (won) return won;
  const [row] = await drizzle(db)
    .select()
    .from(stages)
    .where(and(eq(stages.taskId, taskId), isNotNull(stages.jobId), isNotNull(stages.commit)))
    .orderBy(desc(stages.attempt))
    .limit(1);
  return row ?? null;
}

function refusal(err: ExecutorError, jobId: string): AppError {
  if (err.code === "bad_cursor") return new AppError("invalid_input", `cursor: ${err.message}`);
  if (err.failure === "refused" && /HTTP 404/.test(err.message))
    return new AppError("not_found", `the executor no longer has job ${jobId}, so its diff is gone`);
  if (err.failure === "refused") return new AppError("conflict", err.message);
  return new AppError("executor_unavailable", `could not read the diff from the executor: ${err.message}`, {
    cause: err,
  });
}

export async function taskDiff(env: Env, config: Config, q: TaskDiffQuery): Promise<TaskDiffPage> {
  await requireTask(env.DB, q.taskId);
  const stage = await reviewedStage(env.DB, q.taskId);
  if (!stage?.jobId)
    throw new AppError("conflict", `no attempt of task '${q.taskId}' has a change to show yet (it changed no file)`);
  const sides: DiffSide[] = stage.profile === "consensus" ? ["a", "b"] : ["a"];
  if (!sides.includes(q.side))
    throw new AppError(
      "invalid_input",
      `side: '${q.side}' is the second model of a consensus attempt; attempt ${stage.attempt} ran one model (side a)`,
    );
  const client = await stageExecutorClient(env.DB, config, stage, Date.now());
  try {
    const page = await client.diff(stage.jobId, { cursor: q.cursor, side: q.side });
    return { taskId: q.taskId, attempt: stage.attempt, sides, ...page };
  } catch (err) {
    if (err instanceof ExecutorError) throw refusal(err, stage.jobId);
    throw err;
  }
}

/** A page as text for a model: where it is, the diffstat (first page), the diff, and how to go on. */
export function diffText(p: TaskDiffPage): string {
  const head = `${p.taskId} attempt ${p.attempt} side ${p.side}${p.sides.length > 1 ? ` (sides ${p.sides.join(", ")})` : ""}: ${p.base.slice(0, 12)}..${p.commit?.slice(0, 12) ?? "(no change)"}`;
  const stat = p.stat
    ? [
        `${p.stat.files.length} file${p.stat.files.length === 1 ? "" : "s"} changed, +${p.stat.added} -${p.stat.deleted}`,
        ...p.stat.files.map((f) => `  ${f.path} ${f.added === null ? "binary" : `+${f.added} -${f.deleted ?? 0}`}`),
      ]
    : [];
  const next = p.cursor
    ? `\n(more: call workflow_query {query:'diff', taskId:'${p.taskId}', side:'${p.side}', cursor:'${p.cursor}'})`
    : p.truncated
      ? "\n(the diff is larger than the executor serves: it ends here)"
      : "";
  return [head, ...stat, "", p.text].join("\n") + next;
}
