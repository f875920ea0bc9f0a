import { NonRetryableError } from "cloudflare:workflows";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { tasks } from "../../schema/index.ts";

/** Moves the task to `running`. Re-running it is harmless: the same update again. */
export async function initTask(db: D1Database, taskId: string, now: number): Promise<{ taskId: string }> {
  const [row] = await drizzle(db)
    .update(tasks)
    .set({ status: "running", error: null, updatedAt: now })
    .where(eq(tasks.id, taskId))
    .returning({ id: tasks.id });
  if (!row) throw new NonRetryableError(`task '${taskId}' has no row; create it through execute or 'workflow init'`);
  return { taskId };
}
