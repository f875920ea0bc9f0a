/** The spend breakers as the tools and REST show them, and acknowledging the monthly flag. */
import type { Acknowledged, BreakersView } from "@vault-mcp/contract";
import { TaskId } from "@vault-mcp/contract";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { monthScope, readBreakers } from "../../workflows/breakers.ts";
import { BudgetEvent } from "../../workflows/params.ts";
import { Actor } from "./tasks.ts";

/** `breakers ack` and `POST /api/breakers/ack`. */
export const BreakerAck = z.strictObject({
  note: z.string().max(2000).optional().describe("ack: why the month's spend is fine."),
  actor: Actor.optional(),
});
export type BreakerAck = z.infer<typeof BreakerAck>;

/** `breakers raise` and `POST /api/tasks/:id/budget`: a halted task's new cap. */
export const BreakerRaise = BudgetEvent.extend({ taskId: TaskId.describe("raise: the halted task.") });
export type BreakerRaise = z.infer<typeof BreakerRaise>;

export async function breakersView(db: D1Database, config: Config, now: number): Promise<BreakersView> {
  return { ...(await readBreakers(db, config.breakers, now)), thresholds: config.breakers };
}

/**
 * Acknowledges this month's flag: the breaker row and its decisions row in one batch, the update
 * guarded so that a concurrent second acknowledgement changes nothing and is told so.
 */
export async function ackMonthFlag(
  db: D1Database,
  config: Config,
  input: BreakerAck & { actor: string },
  now: number,
): Promise<Acknowledged> {
  const snapshot = await readBreakers(db, config.breakers, now);
  if (snapshot.month.state !== "flag")
    throw new AppError("conflict", "this month's spend has not reached the flag; nothing to acknowledge");
  if (!snapshot.flagged) throw new AppError("conflict", "this month's flag is already acknowledged");
  const scope = monthScope(now);
  // One transaction: the decision row only when the flag is still open, then the flag itself. A
  // second acknowledgement racing this one finds nothing open and writes nothing.
  const [, updated] = await db.batch([
    db
      .prepare(
        `INSERT INTO decisions (id, kind, decision, rationale, actor, created_at)
         SELECT ?1, 'ack', 'monthly flag acknowledged', ?2, ?3, ?4
         WHERE EXISTS (SELECT 1 FROM circuit_breaker WHERE scope = ?5 AND acknowledged_at IS NULL)`,
      )
      .bind(newId("d", now), input.note ?? null, input.actor, now, scope),
    db
      .prepare(
        "UPDATE circuit_breaker SET acknowledged_at = ?1, acknowledged_by = ?2, updated_at = ?1 WHERE scope = ?3 AND acknowledged_at IS NULL",
      )
      .bind(now, input.actor, scope),
  ]);
  if (!updated?.meta.changes) throw new AppError("conflict", "this month's flag is already acknowledged");
  return { acknowledged: true };
}
