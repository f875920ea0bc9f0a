/**
 * The breaker check before every dispatch, at 10k and at 1M `stages` rows in a local D1. The check
 * reads running totals (two primary keys), so it should not grow with `stages`; the naive indexed
 * range sum over `stages` is measured beside it for contrast.
 */
import type { BenchReport } from "./types.ts";
import { readBreakers } from "../workflows/breakers.ts";
import { localD1, percentile } from "./local-d1.ts";

const THRESHOLDS = { taskWarnUsd: 2, taskHaltUsd: 5, dayBlockUsd: 20, monthFlagUsd: 80 };
const RUNS = 200;

async function fill(db: D1Database, total: number, now: number): Promise<void> {
  await db.prepare("INSERT OR IGNORE INTO tasks (id, status, prompt, repo, created_at, updated_at) VALUES ('t-bench', 'succeeded', 'x', 'demo', ?1, ?1)").bind(now).run();
  const have = (await db.prepare("SELECT count(*) AS n FROM stages").first<{ n: number }>())?.n ?? 0;
  // Rows spread over the last 60 days, inserted 100k at a time by a recursive CTE inside SQLite.
  for (let start = have; start < total; start += 100_000) {
    const end = Math.min(total, start + 100_000);
    await db
      .prepare(
        `WITH RECURSIVE c(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM c WHERE x < ?2)
         INSERT INTO stages (id, task_id, attempt, profile, cli, model, status, cost_usd, created_at)
         SELECT 't-bench:' || x, 't-bench', x, 'sonnet', 'claude', 'm', 'succeeded', 0.001, ?3 - (x % 5184000) * 1000 FROM c`,
      )
      .bind(start + 1, end, now)
      .run();
  }
}

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await fn(); // warm up
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function run(): Promise<BenchReport> {
  const { db, dispose } = await localD1();
  const now = Date.now();
  const dayStart = now - (now % 86_400_000);
  const naive = () => db.prepare("SELECT coalesce(sum(cost_usd), 0) AS s FROM stages WHERE created_at >= ?1").bind(dayStart).first();
  try {
    await fill(db, 10_000, now);
    const small = await time(() => readBreakers(db, THRESHOLDS, now));
    const smallNaive = await time(naive);
    await fill(db, 1_000_000, now);
    const large = await time(() => readBreakers(db, THRESHOLDS, now));
    const largeNaive = await time(naive);
    // Node reaches the local D1 through wrangler's proxy (a socket to workerd); a Worker does not.
    const roundTrip = percentile(await time(() => db.prepare("SELECT 1").first()), 50);
    const p50s = percentile(small, 50);
    const p50l = percentile(large, 50);
    const nets = Math.max(0, p50s - roundTrip);
    const netl = Math.max(0, p50l - roundTrip);
    return {
      title: "Breaker check (local D1)",
      runs: `${RUNS} checks per size after 20 warm-up`,
      figures: [
        { name: "proxy round trip (SELECT 1) p50", value: roundTrip, unit: "ms" },
        { name: "check p50 at 10k stages, net of the proxy", value: nets, unit: "ms", goal: "≤ 5 ms", met: nets <= 5 },
        { name: "check p50 at 1M stages, net of the proxy", value: netl, unit: "ms", goal: "≤ 5 ms", met: netl <= 5 },
        { name: "check p50 at 10k stages, as measured", value: p50s, unit: "ms" },
        { name: "check p95 at 10k stages", value: percentile(small, 95), unit: "ms" },
        { name: "check p50 at 1M stages, as measured", value: p50l, unit: "ms" },
        { name: "check p95 at 1M stages", value: percentile(large, 95), unit: "ms" },
        { name: "ratio 1M / 10k (p50)", value: p50l / p50s, unit: "×", goal: "≤ 1.5", met: p50l / p50s <= 1.5 },
        { name: "naive day sum over stages p50 at 10k", value: percentile(smallNaive, 50), unit: "ms" },
        { name: "naive day sum over stages p50 at 1M", value: percentile(largeNaive, 50), unit: "ms" },
      ],
      notes: ["Times include the local D1 round trip (workerd over a socket). The naive sum is what the check would cost without the running totals kept in circuit_breaker."],
    };
  } finally {
    await dispose();
  }
}
