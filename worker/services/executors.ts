/**
 * The executor pool for people: `vault executors` (GET /api/executors), drain and resume (POST
 * /api/executors/:id/drain|resume), forget (DELETE /api/executors/:id), the `executors` MCP tool and
 * the status page. Draining is the operator's state in D1: dispatch sends the executor nothing new,
 * its running jobs finish, and its next heartbeat's answer tells it to refuse new jobs too.
 */
import {
  CONFIGURED_EXECUTOR_ID,
  ExecutorId,
  type ExecutorList,
  type ExecutorStateChange,
  type ExecutorView,
  type PoolReadiness,
} from "@vault-mcp/contract";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { type ExecutorRow, executors } from "../../schema/index.ts";
import { isFresh } from "../../workflows/pool-read.ts";

/** The id in `drain`, `resume` and `forget` (MCP and REST). */
export const ExecutorTarget = z.strictObject({ id: ExecutorId.describe("The executor's id (vault executors).") });
export type ExecutorTarget = z.infer<typeof ExecutorTarget>;

function readinessLists(r: PoolReadiness): Pick<ExecutorView, "readyProfiles" | "notReady"> {
  const entries = [...Object.entries(r.profiles), ["consensus", r.consensus] as const];
  return {
    readyProfiles: entries.filter(([, p]) => p.ready).map(([name]) => name),
    notReady: entries
      .filter(([, p]) => !p.ready)
      .map(([profile, p]) => ({ profile, missing: p.missing ?? "not ready" })),
  };
}

export function executorView(row: ExecutorRow, now: number, leaseMs: number): ExecutorView {
  return {
    id: row.id,
    url: row.url,
    source: "heartbeat",
    state: row.state,
    fresh: isFresh(row, now, leaseMs),
    stopping: row.stopping,
    capacity: row.capacity,
    running: row.running,
    queued: row.queued,
    repos: row.repos,
    ...readinessLists(row.readiness),
    version: row.version,
    lastHeartbeatAt: row.lastHeartbeatAt,
  };
}

/** The configured executor (EXECUTOR_URL) as listed while no executor heartbeats; its /health fills in the rest. */
export function configuredView(url: string): ExecutorView {
  return {
    id: CONFIGURED_EXECUTOR_ID,
    url,
    source: "config",
    state: "active",
    fresh: true,
    stopping: false,
    capacity: null,
    running: [],
    queued: null,
    repos: [],
    readyProfiles: [],
    notReady: [],
    version: null,
    lastHeartbeatAt: null,
  };
}

export async function listExecutors(db: D1Database, config: Config, now: number): Promise<ExecutorList> {
  const rows = await drizzle(db).select().from(executors).orderBy(executors.id);
  return {
    executors: rows.length
      ? rows.map((r) => executorView(r, now, config.leaseMs))
      : [configuredView(config.executorUrl)],
    leaseMs: config.leaseMs,
  };
}

async function setState(
  db: D1Database,
  id: string,
  state: ExecutorRow["state"],
  now: number,
): Promise<ExecutorStateChange> {
  if (id === CONFIGURED_EXECUTOR_ID)
    throw new AppError(
      "invalid_input",
      "the executor at EXECUTOR_URL is not in a pool; start executors with POOL_URL to drain one",
    );
  const [row] = await drizzle(db)
    .update(executors)
    .set({ state, updatedAt: now })
    .where(eq(executors.id, id))
    .returning({ id: executors.id, state: executors.state, running: executors.running });
  if (!row) throw new AppError("not_found", `no executor '${id}' in the pool; vault executors lists them`);
  return row;
}

/** No new job for it; its running jobs finish. Idempotent. */
export const drainExecutor = (db: D1Database, t: ExecutorTarget, now: number) => setState(db, t.id, "draining", now);
/** It takes jobs again. Idempotent. */
export const resumeExecutor = (db: D1Database, t: ExecutorTarget, now: number) => setState(db, t.id, "active", now);

/**
 * Removes an executor that no longer heartbeats (a VM replaced for good). A fresh one is refused: it
 * would come back with its next heartbeat. With no executor left, dispatch uses EXECUTOR_URL again.
 */
export async function forgetExecutor(
  db: D1Database,
  config: Config,
  t: ExecutorTarget,
  now: number,
): Promise<{ id: string; forgotten: boolean }> {
  const d = drizzle(db);
  const [row] = await d.select().from(executors).where(eq(executors.id, t.id));
  if (!row) throw new AppError("not_found", `no executor '${t.id}' in the pool; vault executors lists them`);
  if (isFresh(row, now, config.leaseMs))
    throw new AppError("conflict", `executor '${t.id}' still heartbeats; stop it (or drain it) first`);
  await d.delete(executors).where(eq(executors.id, t.id));
  return { id: t.id, forgotten: true };
}
