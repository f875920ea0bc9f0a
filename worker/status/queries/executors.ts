/**
 * The executors as the page shows them: the pool's rows (what each last said in its heartbeat) with
 * a drain button for an active one, or, while no executor heartbeats, the one at EXECUTOR_URL through
 * the same probe as /health.
 */
import type { Config } from "../../../core/config.ts";
import { listExecutors } from "../../services/executors.ts";
import { health } from "../../services/health.ts";
import type { ExecutorView } from "../model.ts";

export async function readExecutors(env: Env, config: Config, now: number): Promise<ExecutorView[]> {
  const pool = await listExecutors(env.DB, config, now);
  if (pool.executors.some((e) => e.source === "heartbeat"))
    return pool.executors.map((e) => ({
      id: e.id,
      url: e.url,
      state: !e.fresh
        ? "unreachable"
        : e.state === "draining" || e.stopping
          ? "draining"
          : e.readyProfiles.length === 0
            ? "degraded"
            : "ready",
      slots: e.capacity,
      running: e.running.length,
      queued: e.queued,
      readyProfiles: e.readyProfiles,
      notReady: e.notReady,
      heartbeatAt: e.lastHeartbeatAt ?? now,
      latencyMs: null,
      canDrain: e.state === "active",
    }));
  const { executor: e } = await health(env, config, now);
  const profiles = Object.entries(e.profiles ?? {});
  const ready = profiles.filter(([, p]) => p.ready).map(([name]) => name);
  return [
    {
      id: "default",
      url: config.executorUrl,
      state: !e.reachable ? "unreachable" : ready.length === 0 ? "degraded" : "ready",
      slots: e.capacity ?? null,
      running: e.running ?? null,
      queued: e.queued ?? null,
      readyProfiles: ready,
      notReady: profiles
        .filter(([, p]) => !p.ready)
        .map(([profile, p]) => ({ profile, missing: p.missing ?? "not ready" })),
      heartbeatAt: now,
      latencyMs: e.latencyMs,
      canDrain: false,
    },
  ];
}
