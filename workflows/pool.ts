/**
 * The executor pool as dispatch sees it, and which executor a job goes to. Pure: the members come
 * from D1 (pool-read.ts), the clock from the caller.
 *
 * A job goes to an executor that is fresh (heartbeat within the lease), open (not drained, not
 * shutting down), holds the job's repo or can fetch it (a repo registered with a URL: any executor
 * can clone it), and can run the profile; among those, the one with the most free slots; on a tie,
 * the one that ran this repo last (its worktree pool is warm), then by id so the choice is stable.
 */
import { CONFIGURED_EXECUTOR_ID, type PoolReadiness, type ProfileName } from "@vault-mcp/contract";
import type { Readiness } from "./ladder.ts";

export interface PoolMember {
  id: string;
  url: string;
  /** `heartbeat`: it registered itself; `config`: EXECUTOR_URL while no executor heartbeats. */
  source: "heartbeat" | "config";
  /** Heartbeat within the lease (the configured executor is always fresh). */
  fresh: boolean;
  /** Takes new jobs: not drained by an operator, and not saying it stops. */
  open: boolean;
  capacity: number;
  /** Jobs out on it: the larger of the Worker's running stages there and what its heartbeat said. */
  load: number;
  /** Dispatches that claimed it so far (the compare-and-set of pool-claim.ts); 0 for the configured one. */
  claims: number;
  /** The repositories it holds; null: unknown (the configured executor refuses a repo it lacks). */
  repos: readonly string[] | null;
  /** What it can run; null: unknown here (the configured executor's /health says). */
  readiness: PoolReadiness | null;
}

export interface JobNeeds {
  profile: ProfileName;
  repo: string;
  /** The repo is registered with a URL: an executor that lacks it clones it. */
  fetchable: boolean;
}

/** Why this member cannot take the job, or null when it can. */
export function whyNot(m: PoolMember, need: JobNeeds): string | null {
  if (!m.fresh) return `${m.id}: no heartbeat within the lease`;
  if (!m.open) return `${m.id}: draining`;
  if (m.repos !== null && !need.fetchable && !m.repos.includes(need.repo))
    return `${m.id}: does not hold repo '${need.repo}'`;
  const can = profileReadiness(m.readiness, need.profile);
  if (can && !can.ready) return `${m.id}: ${need.profile} not ready (${can.missing ?? "not ready"})`;
  return null;
}

function profileReadiness(r: PoolReadiness | null, profile: ProfileName) {
  if (r === null) return null;
  if (profile === "consensus") return r.consensus;
  return r.profiles[profile] ?? { ready: false, missing: `${profile} is not configured on this executor` };
}

export type Selection = { ok: true; member: PoolMember } | { ok: false; why: string };

/**
 * The executor for one job: most free slots, then the one that ran the repo last, then by id.
 * `why` (when none can take it) names each member's reason, so the task says what to fix.
 */
export function selectExecutor(
  members: readonly PoolMember[],
  need: JobNeeds,
  ranRepoLast: string | null,
  /**
   * Breaks ties by this seed instead (warmth and id): for a dispatch that lost the claim of its first
   * choice to a concurrent one, so a burst of dispatches spreads over the tied executors at once.
   */
  spreadSeed?: string,
): Selection {
  const able = members.filter((m) => whyNot(m, need) === null);
  if (able.length === 0) {
    const reasons = members.map((m) => whyNot(m, need)).filter((w): w is string => w !== null);
    return { ok: false, why: reasons.length ? reasons.join("; ") : "the pool is empty: no executor heartbeats" };
  }
  const free = (m: PoolMember) => m.capacity - m.load;
  const tie =
    spreadSeed === undefined
      ? (a: PoolMember, b: PoolMember) =>
          Number(b.id === ranRepoLast) - Number(a.id === ranRepoLast) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
      : (a: PoolMember, b: PoolMember) => hash(`${spreadSeed}:${a.id}`) - hash(`${spreadSeed}:${b.id}`);
  const [best] = [...able].sort((a, b) => free(b) - free(a) || tie(a, b));
  return best ? { ok: true, member: best } : { ok: false, why: "no executor" };
}

/** FNV-1a: a stable, well-mixed order of ids per seed. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Members a job could go to now, whatever its profile: fresh, open, holding (or able to fetch) the repo. */
function takers(members: readonly PoolMember[], repo: string, fetchable: boolean): PoolMember[] {
  return members.filter((m) => m.fresh && m.open && (m.repos === null || fetchable || m.repos.includes(repo)));
}

/**
 * What the pool can run for this repo, as the ladder's choice wants it: a profile is ready when one
 * member that could take the job can run it; otherwise the members' reasons. null when no member
 * could take any job (none fresh and open, or none holds the repo): then `poolProblem` says why.
 */
export function poolReadiness(members: readonly PoolMember[], repo: string, fetchable: boolean): Readiness | null {
  const can = takers(members, repo, fetchable).filter((m) => m.readiness !== null);
  if (can.length === 0) return null;
  const names = new Set<string>();
  for (const m of can) for (const name of [...Object.keys(m.readiness?.profiles ?? {}), "consensus"]) names.add(name);
  const missing: Readiness["missing"] = {};
  for (const name of names) {
    const profile = name as ProfileName;
    const states = can.map((m) => ({ id: m.id, state: profileReadiness(m.readiness, profile) }));
    if (states.some((s) => s.state?.ready)) continue;
    const why = [...new Set(states.map((s) => s.state?.missing ?? "not ready"))];
    missing[profile] = can.length === 1 ? (why[0] ?? "not ready") : `on every executor: ${why.join("; ")}`;
  }
  const direct: Readiness["direct"] = {};
  for (const m of can)
    for (const [cli, p] of Object.entries(m.readiness?.direct ?? {})) direct[cli] ??= p as ProfileName;
  return { missing, direct };
}

/** Why no member could take a job for this repo now (for the task's message and /health). */
export function poolProblem(members: readonly PoolMember[], repo: string, fetchable: boolean): string {
  if (members.length === 0) return "no executor in the pool (none has sent a heartbeat)";
  const live = members.filter((m) => m.fresh);
  if (live.length === 0)
    return `no executor has sent a heartbeat within the lease (${members.map((m) => m.id).join(", ")}): check the executors and their POOL_URL`;
  const open = live.filter((m) => m.open);
  if (open.length === 0) return `every fresh executor is draining (${live.map((m) => m.id).join(", ")})`;
  if (!fetchable)
    return `no executor holds repo '${repo}' (${open.map((m) => `${m.id}: ${(m.repos ?? []).join(", ") || "none"}`).join("; ")}); add it to an executor's REPO_ALLOWLIST or register it with a URL`;
  return "no executor can take the job";
}

/** The configured executor (EXECUTOR_URL) as the pool of one used while no executor heartbeats. */
export function configuredMember(url: string): PoolMember {
  return {
    id: CONFIGURED_EXECUTOR_ID,
    url,
    source: "config",
    fresh: true,
    open: true,
    capacity: 0,
    load: 0,
    claims: 0,
    repos: null,
    readiness: null,
  };
}
