/** What GET /health and the `health` tool report. No secret, token or prompt ever goes in here. */
import type { BreakerSnapshot, BreakerThresholds, HealthView } from "@vault-mcp/contract";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { type ConfigError, describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { readBreakers } from "../../workflows/breakers.ts";
import { type PoolMember, poolProblem } from "../../workflows/pool.ts";
import { readPool } from "../../workflows/pool-read.ts";
import { VERSION } from "../version.ts";

type Health = HealthView;

/** D1 is probed with the read /health needs from it anyway: this period's spend totals. */
async function checkD1(
  db: D1Database,
  t: BreakerThresholds,
  now: number,
): Promise<{ d1: Health["d1"]; snapshot: BreakerSnapshot | null }> {
  const started = Date.now();
  try {
    const snapshot = await readBreakers(db, t, now);
    return { d1: { reachable: true, latencyMs: Date.now() - started }, snapshot };
  } catch (err) {
    log("warn", "health_d1_unreachable", { error: describe(err) });
    return { d1: { reachable: false, latencyMs: Date.now() - started }, snapshot: null };
  }
}

/** The executor's open /health, read leniently: only these typed facts cross over. */
const ExecutorFacts = z.object({
  version: z.string().max(64).optional().catch(undefined),
  running: z.number().optional().catch(undefined),
  queued: z.number().optional().catch(undefined),
  capacity: z.number().optional().catch(undefined),
  profiles: z
    .record(z.string().max(40), z.object({ ready: z.boolean(), missing: z.string().max(500).optional() }))
    .optional()
    .catch(undefined),
});

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
let probeFetch: Fetch | null = null;

/** Tests swap in a fake executor /health; production uses the global fetch. */
export function setHealthFetch(f: Fetch | null): void {
  probeFetch = f;
}

/** Short: a health probe that hangs on a dead VM would make /health itself look dead. */
const EXECUTOR_PROBE_TIMEOUT_MS = 2000;

async function checkExecutor(config: Config): Promise<Health["executor"]> {
  const started = Date.now();
  const f = probeFetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  try {
    // The executor's /health is open: no header at all is sent, so no secret or caller token can leak.
    const res = await f(`${config.executorUrl}/health`, { signal: AbortSignal.timeout(EXECUTOR_PROBE_TIMEOUT_MS) });
    if (!res.ok) {
      log("warn", "health_executor_unhealthy", { status: res.status });
      return { reachable: false, latencyMs: Date.now() - started };
    }
    const parsed = ExecutorFacts.safeParse(await res.json());
    const facts = parsed.success ? parsed.data : {};
    const out: Health["executor"] = { reachable: true, latencyMs: Date.now() - started };
    if (facts.version !== undefined) out.version = facts.version;
    if (facts.running !== undefined) out.running = facts.running;
    if (facts.queued !== undefined) out.queued = facts.queued;
    if (facts.capacity !== undefined) out.capacity = facts.capacity;
    if (facts.profiles !== undefined)
      out.profiles = Object.fromEntries(
        Object.entries(facts.profiles).map(([name, p]) => [
          name,
          { ready: p.ready, ...(p.missing ? { missing: p.missing } : {}) },
        ]),
      );
    return out;
  } catch (err) {
    log("warn", "health_executor_unreachable", { error: describe(err) });
    return { reachable: false, latencyMs: Date.now() - started };
  }
}

/**
 * The executors: the pool's rows when executors heartbeat (no round trip: what they last said), else
 * the one at EXECUTOR_URL through its /health. A pool none of whose executors is fresh and open is a
 * reason to be degraded.
 */
async function checkExecutors(
  db: D1Database,
  config: Config,
  now: number,
): Promise<{ executor: Health["executor"]; pool?: Health["pool"]; problem?: string }> {
  const started = Date.now();
  let members: PoolMember[];
  try {
    members = (await readPool(db, { now, leaseMs: config.leaseMs, configuredUrl: config.executorUrl })).members;
  } catch (err) {
    // D1's own check reports it; the executor is then probed as if there were no pool.
    log("warn", "health_pool_unreadable", { error: describe(err) });
    return { executor: await checkExecutor(config) };
  }
  if (members.every((m) => m.source === "config")) return { executor: await checkExecutor(config) };
  const live = members.filter((m) => m.fresh);
  const open = live.filter((m) => m.open);
  const pool: NonNullable<Health["pool"]> = {
    executors: members.length,
    fresh: live.length,
    draining: members.filter((m) => !m.open).length,
    capacity: open.reduce((n, m) => n + m.capacity, 0),
    running: live.reduce((n, m) => n + m.load, 0),
    leaseMs: config.leaseMs,
  };
  const profiles: NonNullable<Health["executor"]["profiles"]> = {};
  for (const m of open)
    for (const [name, p] of Object.entries(m.readiness?.profiles ?? {}))
      if (!profiles[name]?.ready) profiles[name] = { ready: p.ready, ...(p.missing ? { missing: p.missing } : {}) };
  const executor: Health["executor"] = {
    reachable: open.length > 0,
    latencyMs: Date.now() - started,
    running: pool.running,
    capacity: pool.capacity,
    ...(open.length ? { profiles } : {}),
  };
  return { executor, pool, ...(open.length ? {} : { problem: poolProblem(members, "", true) }) };
}

export async function health(env: Env, config: Config, now: number): Promise<Health> {
  const [{ d1, snapshot: b }, { executor, pool, problem }] = await Promise.all([
    checkD1(env.DB, config.breakers, now),
    checkExecutors(env.DB, config, now),
  ]);
  // Field by field: a field added to the snapshot stays out of /health until it is added here.
  const breakers: Health["breakers"] = b && {
    day: {
      scope: b.day.scope,
      spentUsd: b.day.spentUsd,
      limitUsd: b.day.limitUsd,
      runs: b.day.runs,
      state: b.day.state,
    },
    month: {
      scope: b.month.scope,
      spentUsd: b.month.spentUsd,
      limitUsd: b.month.limitUsd,
      runs: b.month.runs,
      state: b.month.state,
      acknowledgedAt: b.month.acknowledgedAt,
    },
    blocked: b.blocked,
    flagged: b.flagged,
    thresholds: { ...config.breakers },
  };
  const reasons = [
    ...(d1.reachable
      ? []
      : [
          "D1 could not be read: check the DB binding, that the migrations are applied (npm run db:migrate:local), and Cloudflare's status",
        ]),
    ...(executor.reachable
      ? []
      : [
          problem
            ? `the executor pool cannot take jobs: ${problem}`
            : `the executor at ${config.executorUrl} is unreachable: check EXECUTOR_URL and the VM`,
        ]),
    ...noProfileCanRun(executor),
  ];
  return {
    status: reasons.length === 0 ? "ok" : "degraded",
    reasons,
    version: VERSION,
    time: new Date(now).toISOString(),
    d1,
    executor,
    ...(pool ? { pool } : {}),
    breakers,
  };
}

/** /health when the deployment's config does not parse: degraded, saying which variable is wrong. */
export function misconfigured(err: ConfigError, now: number): Health {
  return {
    status: "degraded",
    reasons: [`configuration: ${err.message}`],
    version: VERSION,
    time: new Date(now).toISOString(),
    d1: { reachable: false, latencyMs: 0 },
    executor: { reachable: false, latencyMs: 0 },
    breakers: null,
  };
}

/** With the executor up but no profile ready, every task would fail: say what to configure. */
function noProfileCanRun(executor: Health["executor"]): string[] {
  const profiles = Object.entries(executor.profiles ?? {});
  if (!executor.reachable || profiles.length === 0 || profiles.some(([, p]) => p.ready)) return [];
  const missing = profiles.map(([name, p]) => `${name}: ${p.missing ?? "not ready"}`).join("; ");
  return [`no profile can run on the executor: ${missing}`];
}
