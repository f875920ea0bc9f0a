/** The spend breakers as the tools and REST show them, and acknowledging the monthly flag. */
import type { Acknowledged, BreakersView } from "@vault-mcp/contract";
import { TaskId } from "@vault-mcp/contract";
import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { circuitBreaker, decisions } from "../../schema/index.ts";
import { monthScope, readBreakers } from "../../workflows/breakers.ts";
import { bound, type InsertSelect } from "../../workflows/d1.ts";
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
  const d = drizzle(db);
  const open = and(eq(circuitBreaker.scope, scope), isNull(circuitBreaker.acknowledgedAt));
  const decision: InsertSelect<typeof decisions> = {
    id: bound(decisions.id, newId("d", now)),
    taskId: bound(decisions.taskId, null),
    kind: bound(decisions.kind, "ack"),
    decision: bound(decisions.decision, "monthly flag acknowledged"),
    rationale: bound(decisions.rationale, input.note ?? null),
    actor: bound(decisions.actor, input.actor),
    data: bound(decisions.data, null),
    createdAt: bound(decisions.createdAt, now),
  };
  // One transaction: the decision row only when the flag is still open, then the flag itself. A
  // second acknowledgement racing this one finds nothing open and writes nothing.
  const [, updated] = await d.batch([
    d.insert(decisions).select(d.select(decision).from(circuitBreaker).where(open)),
    d
      .update(circuitBreaker)
      .set({ acknowledgedAt: now, acknowledgedBy: input.actor, updatedAt: now })
      .where(open)
      .returning({ scope: circuitBreaker.scope }),
  ]);
  if (updated.length === 0) throw new AppError("conflict", "this month's flag is already acknowledged");
  return { acknowledged: true };
}
