/** What GET /health and the `health` tool report. No secret, token or prompt ever goes in here. */
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { readBreakers } from "../../workflows/breakers.ts";

export const VERSION = "0.1.0";

const Period = {
  scope: z.string(),
  spentUsd: z.number(),
  limitUsd: z.number(),
  runs: z.number(),
};

/**
 * The advertised shape (also the `health` tool's outputSchema, which admits no other fields):
 * health() copies each field explicitly, so a field added to the breaker snapshot stays out until
 * it is added here.
 */
export const HealthSchema = z.object({
  status: z
    .enum(["ok", "degraded"])
    .describe("degraded: D1 or the executor is unreachable, or the breakers could not be read."),
  version: z.string(),
  time: z.string(),
  d1: z.object({ reachable: z.boolean(), latencyMs: z.number() }),
  executor: z.object({
    reachable: z.boolean(),
    latencyMs: z.number(),
    version: z.string().optional(),
    running: z.number().optional(),
    queued: z.number().optional(),
    capacity: z.number().optional(),
  }),
  breakers: z
    .looseObject({
      day: z.object({ ...Period, state: z.enum(["ok", "block"]) }),
      month: z.object({ ...Period, state: z.enum(["ok", "flag"]), acknowledgedAt: z.number().nullable() }),
      blocked: z.boolean().describe("Today's spend reached the daily block: no new dispatch until 00:00 UTC."),
      flagged: z.boolean().describe("This month's spend reached the flag and nobody acknowledged it yet."),
      thresholds: z.object({
        taskWarnUsd: z.number(),
        taskHaltUsd: z.number(),
        dayBlockUsd: z.number(),
        monthFlagUsd: z.number(),
      }),
    })
    .nullable(),
});
export type Health = z.infer<typeof HealthSchema>;

async function checkD1(db: D1Database): Promise<Health["d1"]> {
  const started = Date.now();
  try {
    await db.prepare("SELECT 1").first();
    return { reachable: true, latencyMs: Date.now() - started };
  } catch (err) {
    log("warn", "health_d1_unreachable", { error: describe(err) });
    return { reachable: false, latencyMs: Date.now() - started };
  }
}

/** The executor's open /health, read leniently: only these typed facts cross over. */
const ExecutorHealth = z.object({
  version: z.string().max(64).optional().catch(undefined),
  running: z.number().optional().catch(undefined),
  queued: z.number().optional().catch(undefined),
  capacity: z.number().optional().catch(undefined),
});

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
let probeFetch: Fetch | null = null;

/** Tests swap in a fake executor /health; production uses the global fetch. */
export function setHealthFetch(f: Fetch | null): void {
  probeFetch = f;
}

/** Short: a health probe that hangs on a dead VM would make /health itself look dead. */
export const EXECUTOR_PROBE_TIMEOUT_MS = 2000;

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
    const parsed = ExecutorHealth.safeParse(await res.json());
    const facts = parsed.success ? parsed.data : {};
    const out: Health["executor"] = { reachable: true, latencyMs: Date.now() - started };
    if (facts.version !== undefined) out.version = facts.version;
    if (facts.running !== undefined) out.running = facts.running;
    if (facts.queued !== undefined) out.queued = facts.queued;
    if (facts.capacity !== undefined) out.capacity = facts.capacity;
    return out;
  } catch (err) {
    log("warn", "health_executor_unreachable", { error: describe(err) });
    return { reachable: false, latencyMs: Date.now() - started };
  }
}

export async function health(env: Env, config: Config, now: number): Promise<Health> {
  const [d1, executor] = await Promise.all([checkD1(env.DB), checkExecutor(config)]);
  let breakers: Health["breakers"] = null;
  if (d1.reachable) {
    try {
      const b = await readBreakers(env.DB, config.breakers, now);
      const t = config.breakers;
      const period = (p: { scope: string; spentUsd: number; limitUsd: number; runs: number }) => ({
        scope: p.scope,
        spentUsd: p.spentUsd,
        limitUsd: p.limitUsd,
        runs: p.runs,
      });
      breakers = {
        day: { ...period(b.day), state: b.day.state },
        month: { ...period(b.month), state: b.month.state, acknowledgedAt: b.month.acknowledgedAt },
        blocked: b.blocked,
        flagged: b.flagged,
        thresholds: {
          taskWarnUsd: t.taskWarnUsd,
          taskHaltUsd: t.taskHaltUsd,
          dayBlockUsd: t.dayBlockUsd,
          monthFlagUsd: t.monthFlagUsd,
        },
      };
    } catch (err) {
      log("warn", "health_breakers_unreadable", { error: describe(err) });
    }
  }
  return {
    status: d1.reachable && executor.reachable && breakers !== null ? "ok" : "degraded",
    version: VERSION,
    time: new Date(now).toISOString(),
    d1,
    executor,
    breakers,
  };
}
