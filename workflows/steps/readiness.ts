/**
 * What the pool can run now, before each choice of rung. With executors that heartbeat it is what
 * they last said (D1, no round trip): a profile is ready when an executor that could take the job
 * (fresh, not draining, holding the repo) can run it. With the executor at EXECUTOR_URL alone, its
 * open /health.
 */
import { type ExecutorHealth, ProfileName } from "@vault-mcp/contract";
import type { Config } from "../../core/config.ts";
import { type ExecutorClient, ExecutorError } from "../executor-client.ts";
import type { Readiness } from "../ladder.ts";
import { poolProblem, poolReadiness } from "../pool.ts";
import { readPool } from "../pool-read.ts";

/** Keeps only what the choice needs: small, so the step's stored output stays tiny. */
function readinessFrom(health: ExecutorHealth): Readiness {
  const missing: Readiness["missing"] = {};
  for (const [name, p] of Object.entries(health.profiles)) {
    const profile = ProfileName.safeParse(name);
    if (profile.success && !p.ready) missing[profile.data] = p.missing ?? `${name} is not ready on the executor`;
  }
  if (!health.consensus.ready)
    missing.consensus = health.consensus.missing ?? `consensus needs ${health.consensus.profiles.join(" and ")}`;
  const direct: Readiness["direct"] = {};
  for (const [cli, name] of Object.entries(health.direct)) {
    const profile = ProfileName.safeParse(name);
    if (profile.success) direct[cli] = profile.data;
  }
  return { missing, direct };
}

export interface ReadinessInput {
  config: Pick<Config, "executorUrl" | "leaseMs">;
  /** A client for the executor at `url` (the configured one's /health). */
  clientFor: (url: string) => ExecutorClient;
  repo: string;
  /** The repo is registered with a URL: any executor can fetch it. */
  fetchable: boolean;
  now: number;
}

/**
 * The pool's readiness for this repo. No executor that could take the job: a retryable
 * `unreachable` failure while none is fresh and open (executors restart, come back from a drain),
 * a final `refused` when fresh ones are open but none holds the repo.
 */
export async function readReadiness(db: D1Database, r: ReadinessInput): Promise<Readiness> {
  const { members } = await readPool(db, {
    now: r.now,
    leaseMs: r.config.leaseMs,
    configuredUrl: r.config.executorUrl,
  });
  const configured = members.find((m) => m.source === "config");
  if (configured) return readinessFrom(await r.clientFor(configured.url).getHealth());
  const ready = poolReadiness(members, r.repo, r.fetchable);
  if (ready) return ready;
  const open = members.some((m) => m.fresh && m.open);
  throw new ExecutorError(open ? "refused" : "unreachable", poolProblem(members, r.repo, r.fetchable), !open);
}
