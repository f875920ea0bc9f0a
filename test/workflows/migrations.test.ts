/** Migrations whose SQL does more than change the schema, tested on rows like those they meet. */
import { env } from "cloudflare:workers";
import type { ProfileName } from "@vault-mcp/contract";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { modelStats, stages } from "../../schema/index.ts";
import { resetBetweenTests, seedStats, seedTask } from "./helpers.ts";

resetBetweenTests();

describe("migration 0004", () => {
  it("fills success_cost_usd from the succeeded stages of each profile and kind, never above the row's total", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0004_"));
    const backfill = migration?.queries.find((q) => q.includes("UPDATE"));
    expect(backfill).toBeDefined();
    const taskId = await seedTask({ kind: "backfill" });
    const d = drizzle(env.DB);
    const stage = (attempt: number, profile: ProfileName, status: "succeeded" | "failed", costUsd: number) => ({
      id: `${taskId}:${attempt}`,
      taskId,
      attempt,
      taskKind: "backfill",
      profile,
      cli: "claude",
      model: "m",
      status,
      costUsd,
      createdAt: Date.now(),
    });
    await d
      .insert(stages)
      .values([
        stage(1, "deepseek", "failed", 0.5),
        stage(2, "sonnet", "succeeded", 1.25),
        stage(3, "sonnet", "succeeded", 0.75),
        stage(4, "opus", "succeeded", 9),
      ]);
    // As rows written before the column existed: success spend 0. opus's row was reset since.
    await seedStats("backfill", {
      deepseek: { runs: 1, successes: 0, spendUsd: 0.5, successSpendUsd: 0 },
      sonnet: { runs: 3, successes: 2, spendUsd: 2.5, successSpendUsd: 0 },
      opus: { runs: 1, successes: 1, spendUsd: 6, successSpendUsd: 0 },
    });
    await env.DB.prepare(backfill as string).run();
    const rows = await d
      .select({ profile: modelStats.profile, successCostUsd: modelStats.successCostUsd })
      .from(modelStats)
      .where(eq(modelStats.taskKind, "backfill"))
      .orderBy(modelStats.profile);
    expect(rows).toEqual([
      { profile: "deepseek", successCostUsd: 0 },
      { profile: "opus", successCostUsd: 6 },
      { profile: "sonnet", successCostUsd: 2 },
    ]);
  });
});
