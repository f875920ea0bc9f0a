/** What GET /health and the `health` tool report. No secret, token or prompt ever goes in here. */
import { readBreakers, type BreakerSnapshot } from "../../workflows/breakers.ts";
import type { Config } from "../config.ts";
import { describe } from "../errors.ts";
import { log } from "../log.ts";

export const VERSION = "0.1.0";

export interface Health {
  status: "ok" | "degraded";
  version: string;
  time: string;
  d1: { reachable: boolean; latencyMs: number };
  executor: { reachable: boolean; latencyMs: number; version?: string; running?: number; queued?: number; capacity?: number };
  breakers: (BreakerSnapshot & { thresholds: Config["breakers"] }) | null;
}

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

async function checkExecutor(config: Config, fetcher: typeof fetch): Promise<Health["executor"]> {
  const started = Date.now();
  try {
    // The executor's /health is open: no secret is sent.
    const res = await fetcher(`${config.executorUrl}/health`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return { reachable: false, latencyMs: Date.now() - started };
    const body = (await res.json()) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === "number" ? v : undefined);
    const out: Health["executor"] = { reachable: true, latencyMs: Date.now() - started };
    if (typeof body.version === "string") out.version = body.version;
    const running = num(body.running);
    const queued = num(body.queued);
    const capacity = num(body.capacity);
    if (running !== undefined) out.running = running;
    if (queued !== undefined) out.queued = queued;
    if (capacity !== undefined) out.capacity = capacity;
    return out;
  } catch (err) {
    log("warn", "health_executor_unreachable", { error: describe(err) });
    return { reachable: false, latencyMs: Date.now() - started };
  }
}

export async function health(env: Env, config: Config, now: number, fetcher: typeof fetch = fetch): Promise<Health> {
  const [d1, executor] = await Promise.all([checkD1(env.DB), checkExecutor(config, fetcher)]);
  let breakers: Health["breakers"] = null;
  if (d1.reachable) {
    try {
      breakers = { ...(await readBreakers(env.DB, config.breakers, now)), thresholds: config.breakers };
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
