/**
 * The executors as the page shows them. Today the one at EXECUTOR_URL, through the same probe as
 * /health. Wiring point (issue 19): read the pool's `executors` table here (state, slots, running
 * jobs, ready profiles, heartbeat) and set `canDrain`; the page renders one card per row.
 */
import type { Config } from "../../../core/config.ts";
import { health } from "../../services/health.ts";
import type { ExecutorView } from "../model.ts";

export async function readExecutors(env: Env, config: Config, now: number): Promise<ExecutorView[]> {
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
