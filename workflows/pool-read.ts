/**
 * The pool as D1 holds it (`executors`, written by each heartbeat), read in one batch with the jobs
 * the Worker has out on each executor and the executor that ran the repo last. While no executor has
 * ever sent a heartbeat, the pool is the one at EXECUTOR_URL (`default`), always fresh.
 */
import { CONFIGURED_EXECUTOR_ID } from "@vault-mcp/contract";
import { and, count, desc, eq, isNotNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type ExecutorRow, executors, stages, tasks } from "../schema/index.ts";
import type { Db } from "./d1.ts";
import { configuredMember, type PoolMember } from "./pool.ts";

export interface PoolSnapshot {
  members: PoolMember[];
  /** The executor of the latest stage of the repo's latest task that ran one (null: none, or not asked). */
  ranRepoLast: string | null;
}

export interface PoolQuery {
  now: number;
  leaseMs: number;
  /** EXECUTOR_URL: the pool of one while no executor heartbeats. */
  configuredUrl: string;
  /** Also find which executor ran this repo last. */
  repo?: string;
}

/** Fresh = a heartbeat within the lease. Exported for the listing and the lease checks. */
export const isFresh = (row: Pick<ExecutorRow, "lastHeartbeatAt">, now: number, leaseMs: number): boolean =>
  now - row.lastHeartbeatAt <= leaseMs;

export function memberOf(row: ExecutorRow, load: number, now: number, leaseMs: number): PoolMember {
  return {
    id: row.id,
    url: row.url,
    source: "heartbeat",
    fresh: isFresh(row, now, leaseMs),
    open: row.state === "active" && !row.stopping,
    capacity: row.capacity,
    load: Math.max(load, row.running.length + row.queued),
    claims: row.claims,
    repos: row.repos,
    readiness: row.readiness,
  };
}

/** The pool's three reads, to run in a batch of their own (readPool) or inside a caller's batch. */
export function poolQueries(d: Db, q: PoolQuery) {
  // Jobs out per executor: stages still running whose task still runs (an unwritten stage of a task
  // that ended waits for reconcile and runs nothing).
  const out = d
    .select({ executorId: stages.executorId, jobs: count() })
    .from(stages)
    .innerJoin(tasks, eq(tasks.id, stages.taskId))
    .where(and(eq(stages.status, "running"), eq(tasks.status, "running"), isNotNull(stages.executorId)))
    .groupBy(stages.executorId);
  const last = d
    .select({ executorId: stages.executorId })
    .from(tasks)
    .innerJoin(stages, eq(stages.taskId, tasks.id))
    .where(and(eq(tasks.repo, q.repo ?? ""), isNotNull(stages.executorId)))
    .orderBy(desc(tasks.createdAt), desc(stages.attempt))
    .limit(1);
  return [d.select().from(executors), out, last] as const;
}

type PoolRows = readonly [
  ExecutorRow[],
  { executorId: string | null; jobs: number }[],
  { executorId: string | null }[],
];

/** The snapshot from the rows of `poolQueries`. */
export function poolFrom([rows, loads, lastRows]: PoolRows, q: PoolQuery): PoolSnapshot {
  const loadOf = new Map(loads.map((l) => [l.executorId, l.jobs]));
  const ranRepoLast = q.repo === undefined ? null : (lastRows[0]?.executorId ?? null);
  if (rows.length === 0) {
    const m = configuredMember(q.configuredUrl);
    return { members: [{ ...m, load: loadOf.get(CONFIGURED_EXECUTOR_ID) ?? 0 }], ranRepoLast };
  }
  return { members: rows.map((r) => memberOf(r, loadOf.get(r.id) ?? 0, q.now, q.leaseMs)), ranRepoLast };
}

export async function readPool(db: D1Database, q: PoolQuery): Promise<PoolSnapshot> {
  const d = drizzle(db);
  return poolFrom(await d.batch(poolQueries(d, q)), q);
}

/**
 * Where the executor a stage went to is now (its URL may change across restarts), and whether its
 * lease still holds. `default` (and a stage from before the pool: null) is EXECUTOR_URL, always
 * fresh; an id the pool no longer knows is not fresh.
 */
export async function findExecutor(
  db: D1Database,
  id: string | null,
  q: Omit<PoolQuery, "repo">,
): Promise<{ id: string; url: string; fresh: boolean; source: "heartbeat" | "config" } | null> {
  if (id === null || id === CONFIGURED_EXECUTOR_ID)
    return { id: CONFIGURED_EXECUTOR_ID, url: q.configuredUrl, fresh: true, source: "config" };
  const [row] = await drizzle(db)
    .select({ url: executors.url, lastHeartbeatAt: executors.lastHeartbeatAt })
    .from(executors)
    .where(eq(executors.id, id));
  if (!row) return null;
  return { id, url: row.url, fresh: isFresh(row, q.now, q.leaseMs), source: "heartbeat" };
}
