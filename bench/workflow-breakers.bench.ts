/**
 * The breaker check the workflow runs before every dispatch (`checkBreakers`, the body of the
 * `breaker-check #k` step: day + month totals, the task row and the cooling profiles in one D1 batch)
 * at 10k and at 1M `stages` rows, in a local D1 with the real migrations (Miniflare, the engine
 * behind `wrangler dev`). The timing loop runs INSIDE workerd, in a Worker bundled from the real step
 * code, so the figures are what a Worker pays against a local D1, without Node's proxy socket.
 * workerd's clock only moves at I/O, so checks are timed in groups of 10 and each group's mean is a
 * sample. The naive indexed sum over today's stages is measured beside it for contrast.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { percentile } from "./stats.ts";
import type { Bench, BenchReport } from "./types.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const TASK = "t-20261124-1530-bench0";
const GROUPS = 40;
const PER_GROUP = 10;

/**
 * The Worker that times the real step code against two databases, DB10K and DB1M, alternating
 * between them group by group so both see the same machine load. Answers per-check ms samples.
 */
const WORKER_SOURCE = `
import { checkBreakers } from "./workflows/steps/breaker-check.ts";
import { readBreakers } from "./workflows/breakers.ts";
const T = { taskWarnUsd: 2, taskHaltUsd: 5, dayBlockUsd: 20, monthFlagUsd: 80 };
export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const now = Number(q.get("now"));
    const ops = {
      check: (db) => checkBreakers(db, T, { taskId: q.get("task"), capUsd: undefined }, now),
      totals: (db) => readBreakers(db, T, now),
      trip: (db) => db.prepare("SELECT 1").first(),
      naive: (db) => db.prepare("SELECT coalesce(sum(cost_usd), 0) AS s FROM stages WHERE created_at >= ?1").bind(now - (now % 86400000)).first(),
    };
    const op = ops[q.get("what")];
    const dbs = [env.DB10K, env.DB1M];
    if (q.get("once")) return Response.json(await Promise.all(dbs.map(op)));
    for (let i = 0; i < 20; i++) for (const db of dbs) await op(db);
    const samples = [[], []];
    for (let g = 0; g < Number(q.get("groups")); g++) {
      for (const k of g % 2 ? [1, 0] : [0, 1]) {
        const t0 = Date.now();
        for (let i = 0; i < Number(q.get("per")); i++) await op(dbs[k]);
        samples[k].push((Date.now() - t0) / Number(q.get("per")));
      }
    }
    return Response.json(samples);
  },
};`;

async function fill(db: D1Database, total: number, now: number): Promise<void> {
  const iso = new Date(now).toISOString();
  await db.batch([
    db
      .prepare(
        "INSERT OR IGNORE INTO tasks (id, status, prompt, repo, cost_usd, created_at, updated_at) VALUES (?1, 'running', 'x', 'demo', 1.25, ?2, ?2)",
      )
      .bind(TASK, now),
    db
      .prepare(
        "INSERT OR IGNORE INTO circuit_breaker (scope, spent_usd, runs, state, updated_at) VALUES (?1, 12.5, 900, 'ok', ?3), (?2, 61, 9000, 'ok', ?3)",
      )
      .bind(`day:${iso.slice(0, 10)}`, `month:${iso.slice(0, 7)}`, now),
    // One profile cooling down, as in a busy month.
    db
      .prepare(
        "INSERT OR IGNORE INTO model_stats (profile, task_kind, runs, failures, consecutive_failures, cooldown_until, updated_at) VALUES ('deepseek', 'general', 9, 3, 3, ?1, ?1), ('sonnet', 'general', 50, 1, 0, NULL, ?1)",
      )
      .bind(now + 3_600_000),
  ]);
  const have = (await db.prepare("SELECT count(*) AS n FROM stages").first<{ n: number }>())?.n ?? 0;
  // Rows spread over the last 60 days, 100k per statement by a recursive CTE inside SQLite.
  for (let start = have; start < total; start += 100_000) {
    const end = Math.min(total, start + 100_000);
    await db
      .prepare(
        `WITH RECURSIVE c(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM c WHERE x < ?2)
         INSERT INTO stages (id, task_id, attempt, profile, cli, model, status, cost_usd, created_at)
         SELECT ?4 || ':' || x, ?4, x, 'sonnet', 'claude', 'm', 'succeeded', 0.001, ?3 - (x % 5184000) * 1000 FROM c`,
      )
      .bind(start + 1, end, now, TASK)
      .run();
  }
}

export const run: Bench = async (): Promise<BenchReport> => {
  const bundle = await build({
    stdin: { contents: WORKER_SOURCE, resolveDir: ROOT, loader: "js", sourcefile: "bench-breakers-worker.js" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-breakers-"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: bundle.outputFiles[0]?.text ?? "",
      compatibilityDate: "2026-11-01",
      d1Databases: { DB10K: "bench-10k", DB1M: "bench-1m" },
      // On disk like `wrangler dev` (1M rows), in a temporary directory removed afterwards.
      resourcePersistencePath: dir,
    }),
  );
  try {
    const now = Date.now();
    for (const [binding, rows] of [
      ["DB10K", 10_000],
      ["DB1M", 1_000_000],
    ] as const) {
      const db = (await mf.getD1Database(binding)) as unknown as D1Database;
      for (const file of readdirSync(path.join(ROOT, "migrations"))
        .filter((f) => f.endsWith(".sql"))
        .sort()) {
        for (const stmt of readFileSync(path.join(ROOT, "migrations", file), "utf8").split(
          "--> statement-breakpoint",
        )) {
          if (stmt.trim()) await db.prepare(stmt).run();
        }
      }
      await fill(db, rows, now);
    }
    const ask = async (what: string, extra = ""): Promise<unknown> => {
      const res = await mf.dispatchFetch(
        `http://bench/?what=${what}&now=${now}&task=${TASK}&groups=${GROUPS}&per=${PER_GROUP}${extra}`,
      );
      if (!res.ok) throw new Error(`bench worker: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const measure = async (what: string) => {
      const [small, large] = (await ask(what)) as [number[], number[]];
      return { small, large };
    };

    const sanity = (await ask("check", "&once=1")) as { verdict: string; cooling: Record<string, number> }[];
    if (!sanity.every((c) => c.verdict === "ok" && c.cooling.deepseek !== undefined && c.cooling.sonnet === undefined))
      throw new Error(`unexpected check result ${JSON.stringify(sanity)}`);
    const check = await measure("check");
    const totals = await measure("totals");
    const trip = await measure("trip");
    const naive = await measure("naive");

    const p50 = (xs: number[]) => percentile(xs, 50);
    // The clock moves in whole ms: floor each p50 at one tick per group.
    const ratio = Math.max(p50(check.large), 1 / PER_GROUP) / Math.max(p50(check.small), 1 / PER_GROUP);
    const load = os.loadavg()[0] ?? 0;
    return {
      title: "Breaker check (local D1, timed inside workerd)",
      runs: `${GROUPS} groups × ${PER_GROUP} checks per size, 10k and 1M alternating, after 20 warm-up; sample = group mean; load average ${load.toFixed(1)} on ${os.cpus().length} cores`,
      figures: [
        {
          name: "check p50 at 10k stages",
          value: p50(check.small),
          unit: "ms",
          goal: "≤ 5 ms",
          met: p50(check.small) <= 5,
        },
        {
          name: "check p50 at 1M stages",
          value: p50(check.large),
          unit: "ms",
          goal: "≤ 5 ms",
          met: p50(check.large) <= 5,
        },
        { name: "ratio 1M / 10k (check p50)", value: ratio, unit: "×", goal: "≤ 1.5", met: ratio <= 1.5 },
        { name: "check p95 at 10k stages", value: percentile(check.small, 95), unit: "ms" },
        { name: "check p95 at 1M stages", value: percentile(check.large, 95), unit: "ms" },
        {
          name: "D1 round trip (SELECT 1) p50 at 10k / 1M",
          value: (p50(trip.small) + p50(trip.large)) / 2,
          unit: "ms",
        },
        { name: "spend totals alone (readBreakers) p50 at 10k", value: p50(totals.small), unit: "ms" },
        { name: "spend totals alone (readBreakers) p50 at 1M", value: p50(totals.large), unit: "ms" },
        { name: "naive day sum over stages p50 at 10k", value: p50(naive.small), unit: "ms" },
        { name: "naive day sum over stages p50 at 1M", value: p50(naive.large), unit: "ms" },
      ],
      notes: [
        "The check is one D1 batch of primary-key reads (plus a flags update only when they change), so it does not grow with stages; the naive sum is what it would cost without the running totals in circuit_breaker.",
        "Timed inside workerd against Miniflare's local D1 (no Node proxy in the path), the two sizes alternating so machine load hits both alike; production adds the network hop to D1.",
      ],
    };
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
};
