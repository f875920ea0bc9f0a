/**
 * What the chooser reads from model_stats (a small table: one row per profile and kind): the kind's
 * rows and the sums over every kind. The `choose` step and `workflow_query chooser` read the same.
 */
import type { ProfileName } from "@vault-mcp/contract";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { modelStats } from "../schema/index.ts";
import type { ChooserInput } from "./chooser.ts";

export type ChooserStats = Required<Pick<ChooserInput, "stats" | "overall">>;

/** One D1 batch of two reads. */
export async function readChooserStats(db: D1Database, kind: string): Promise<ChooserStats> {
  const d = drizzle(db);
  const [rows, [sums]] = await d.batch([
    d
      .select({
        profile: modelStats.profile,
        runs: modelStats.runs,
        successes: modelStats.successes,
        spendUsd: modelStats.totalCostUsd,
        successSpendUsd: modelStats.successCostUsd,
      })
      .from(modelStats)
      .where(eq(modelStats.taskKind, kind)),
    d
      .select({
        spendUsd: sql<number>`coalesce(sum(${modelStats.totalCostUsd}), 0)`.mapWith(Number),
        // One successful run per solved task: the sum of successes counts the tasks solved.
        solved: sql<number>`coalesce(sum(${modelStats.successes}), 0)`.mapWith(Number),
      })
      .from(modelStats),
  ]);
  const stats: ChooserStats["stats"] = {};
  for (const { profile, ...r } of rows) stats[profile as ProfileName] = r;
  return { stats, overall: sums ?? { spendUsd: 0, solved: 0 } };
}
