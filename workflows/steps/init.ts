import { NonRetryableError } from "cloudflare:workflows";

/** Moves the task to `running`. Re-running it is harmless: the same update again. */
export async function initTask(db: D1Database, taskId: string, now: number): Promise<{ taskId: string }> {
  const row = await db
    .prepare("UPDATE tasks SET status = 'running', error = NULL, updated_at = ?1 WHERE id = ?2 RETURNING id")
    .bind(now, taskId)
    .first<{ id: string }>();
  if (!row) throw new NonRetryableError(`task '${taskId}' has no row; create it through execute or 'workflow init'`);
  return { taskId };
}
