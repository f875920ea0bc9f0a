/** Model statistics and the chooser's table (`workflow_query stats|chooser`, `GET /api/stats|chooser`). */
import type { ProfileName, Rung } from "@vault-mcp/contract";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { type ModelStatsRow, modelStats } from "../../schema/index.ts";
import { type ChooserChoice, type ChooserRow, chooseStart, readyRungs } from "../../workflows/chooser.ts";
import { readChooserStats } from "../../workflows/chooser-stats.ts";
import type { Standing } from "../../workflows/ladder.ts";
import { KindFilter, KindText } from "../../workflows/task-kind.ts";
import { listCooldowns } from "./cooldowns.ts";

/** `GET /api/stats` and `GET /api/chooser`: other query parameters are ignored, as before. */
export const StatsQuery = z.object({ kind: KindFilter });
export const ChooserQuery = z.object({ kind: KindText });

export async function listModelStats(db: D1Database, kind?: string): Promise<ModelStatsRow[]> {
  const d = drizzle(db);
  const base = d.select().from(modelStats);
  return (kind ? base.where(eq(modelStats.taskKind, kind)) : base).orderBy(modelStats.profile);
}

/** What the chooser would use now for a kind: its table, its pick under the estimates, and why. */
export interface ChooserView {
  kind: string;
  /** Where an `auto` task of this kind would start under the estimates alone (each task also draws). */
  bestKnown: Rung;
  basis: ChooserChoice["basis"];
  /** With the default cap as the worth of a solve: the last rung before a human. */
  stopAfter?: ProfileName;
  /** What one more solved task may cost (λ): the default per-task cap, as a task without budgetUsd uses. */
  worthUsd: number;
  /** Profiles cooling down now: not in the table (a task would pass them). */
  cooling: ProfileName[];
  /** Per ready rung, in ladder order: its runs and estimates, and starting there: cost, solve rate, cost per solve. */
  table: ChooserRow[];
  explanation: string;
}

/**
 * The chooser's input as a task of this kind would see it now (model_stats, cooldowns), without the
 * draws. Readiness is the executor's to say when a task runs, so every profile counts as ready here.
 */
export async function chooserView(db: D1Database, kind: string, config: Config, now: number): Promise<ChooserView> {
  const [{ stats, overall }, { cooldowns }] = await Promise.all([readChooserStats(db, kind), listCooldowns(db, now)]);
  const standing: Standing = {
    cooling: Object.fromEntries(cooldowns.map((c) => [c.profile, c.until])),
    aside: {},
    ready: { missing: {}, direct: {} },
  };
  const worthUsd = config.breakers.taskHaltUsd;
  const choice = chooseStart({
    kind,
    ladder: readyRungs(config.ladder, standing, now),
    stats,
    overall,
    worthUsd,
    ceiling: true,
    explore: false,
    seed: kind,
  });
  return {
    kind,
    bestKnown: choice.bestKnown,
    basis: choice.basis,
    ...(choice.stopAfter ? { stopAfter: choice.stopAfter } : {}),
    worthUsd,
    cooling: cooldowns.map((c) => c.profile),
    table: choice.table,
    explanation: choice.explanation,
  };
}
