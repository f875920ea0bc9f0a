import type { BreakerThresholds, TaskStatus } from "@vault-mcp/contract";
import { and, eq, ne } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { tasks } from "../../schema/index.ts";
import { chainCost, snapshotFrom, spendRows } from "../breakers.ts";
import { flagsFor } from "./breaker-check.ts";

export interface StatusChange {
  status: TaskStatus;
  error: string | null;
  /** A raised per-task cap to keep on the row (budget resume). */
  budgetUsd?: number;
  /** The event type the instance now waits for (`human-2`); null once it stops waiting. */
  waitingFor?: string | null;
  /** Flags beside the breakers' (e.g. `delivery_failed`). */
  flags?: readonly string[];
}

/**
 * Sets the task's status (final, or halted / needs_human while the instance waits) with the flags it
 * carries now. A task the orchestrator already `closed` stays closed. Re-running it writes the same.
 */
export interface StatusWrite {
  taskId: string;
  change: StatusChange;
  thresholds: BreakerThresholds;
  now: number;
}

export async function setTaskStatus(
  db: D1Database,
  { taskId, change, thresholds: t, now }: StatusWrite,
): Promise<{ taskId: string; status: TaskStatus; flags: string[] }> {
  const d = drizzle(db);
  const [spend, [task]] = await d.batch([
    spendRows(d, now),
    // The replay chain's spend, as the breaker check counts it, so a flag it set is not dropped here.
    d.select({ costUsd: chainCost() }).from(tasks).where(eq(tasks.id, taskId)),
  ]);
  const flags = [...flagsFor(task?.costUsd ?? 0, t, snapshotFrom(spend, t, now).flagged), ...(change.flags ?? [])];
  await d
    .update(tasks)
    .set({
      status: change.status,
      error: change.error?.slice(0, 2000) ?? null,
      flags,
      ...(change.budgetUsd === undefined ? {} : { budgetUsd: change.budgetUsd }),
      waitingFor: change.waitingFor ?? null,
      updatedAt: now,
    })
    .where(and(eq(tasks.id, taskId), ne(tasks.status, "closed")));
  return { taskId, status: change.status, flags };
}

/**
 * The instance is about to error (D1 stayed down through a step's retries, or a bug): the task says
 * `failed` with why, instead of claiming `running` forever. A closed task stays closed.
 */
export async function failTask(
  db: D1Database,
  taskId: string,
  message: string,
  now: number,
): Promise<{ taskId: string }> {
  await drizzle(db)
    .update(tasks)
    .set({
      status: "failed",
      error: `the workflow stopped: ${message}`.slice(0, 2000),
      waitingFor: null,
      updatedAt: now,
    })
    .where(and(eq(tasks.id, taskId), ne(tasks.status, "closed")));
  return { taskId };
}
