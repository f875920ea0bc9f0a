import type { BreakerThresholds, TaskStatus } from "@vault-mcp/contract";
import { CHAIN_COST_SQL, type SpendRow, snapshotFrom, spendRowsStatement } from "../breakers.ts";
import { flagsFor } from "./breaker-check.ts";

export interface StatusChange {
  status: TaskStatus;
  error: string | null;
  /** A raised per-task cap to keep on the row (budget resume). */
  budgetUsd?: number;
  /** The event type the instance now waits for (`human-2`); null once it stops waiting. */
  waitingFor?: string | null;
}

/**
 * Sets the task's status (final, or halted / needs_human while the instance waits) with the flags it
 * carries now. A task the orchestrator already `closed` stays closed. Re-running it writes the same.
 */
export async function setTaskStatus(
  db: D1Database,
  t: BreakerThresholds,
  taskId: string,
  change: StatusChange,
  now: number,
): Promise<{ taskId: string; status: TaskStatus; flags: string[] }> {
  const [spend, task] = await db.batch<unknown>([
    spendRowsStatement(db, now),
    // The replay chain's spend, as the breaker check counts it, so a flag it set is not dropped here.
    db.prepare(`SELECT ${CHAIN_COST_SQL} AS costUsd FROM tasks t WHERE t.id = ?1`).bind(taskId),
  ]);
  const costUsd = ((task?.results[0] ?? null) as { costUsd: number } | null)?.costUsd ?? 0;
  const flags = flagsFor(costUsd, t, snapshotFrom((spend?.results ?? []) as SpendRow[], t, now).flagged);
  await db
    .prepare(
      `UPDATE tasks SET status = ?1, error = ?2, flags = ?3, budget_usd = COALESCE(?4, budget_usd), waiting_for = ?5,
         updated_at = ?6 WHERE id = ?7 AND status <> 'closed'`,
    )
    .bind(
      change.status,
      change.error?.slice(0, 2000) ?? null,
      JSON.stringify(flags),
      change.budgetUsd ?? null,
      change.waitingFor ?? null,
      now,
      taskId,
    )
    .run();
  return { taskId, status: change.status, flags };
}
