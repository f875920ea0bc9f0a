/** Acknowledging the monthly spend flag: the breaker row and a decisions row. */
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { decisions } from "../../schema/index.ts";
import { acknowledgeMonthFlag } from "../../workflows/breakers.ts";

export async function ackMonthFlag(
  db: D1Database,
  config: Config,
  note: string | undefined,
  actor: string,
  now: number,
): Promise<{ acknowledged: boolean }> {
  const acknowledged = await acknowledgeMonthFlag(db, config.breakers, now, actor);
  if (!acknowledged)
    throw new AppError("conflict", "this month's spend has not reached the flag; nothing to acknowledge");
  await drizzle(db)
    .insert(decisions)
    .values({
      id: newId("d", now),
      kind: "ack",
      decision: "monthly flag acknowledged",
      rationale: note ?? null,
      actor,
      createdAt: now,
    });
  return { acknowledged };
}
