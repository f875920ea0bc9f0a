import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { tasks } from "../../schema/index.ts";
import type { BreakerThresholds } from "../../worker/config.ts";
import { readBreakers } from "../breakers.ts";
import type { TaskStatus } from "../params.ts";
import { flagsFor } from "./breaker-check.ts";

/**
 * Sets the task's status (final, or halted / needs_human while the instance waits) with the flags it
 * carries now. The same update again on a retry.
 */
export async function setTaskStatus(
  db: D1Database,
  t: BreakerThresholds,
  taskId: string,
  status: TaskStatus,
  error: string | null,
  now: number,
): Promise<{ taskId: string; status: TaskStatus; flags: string[] }> {
  const d = drizzle(db);
  const [snapshot, [task]] = await Promise.all([readBreakers(db, t, now), d.select({ costUsd: tasks.costUsd }).from(tasks).where(eq(tasks.id, taskId)).limit(1)]);
  const flags = flagsFor(task?.costUsd ?? 0, t, snapshot.flagged);
  await d.update(tasks).set({ status, error, flags, updatedAt: now }).where(eq(tasks.id, taskId));
  return { taskId, status, flags };
}
