/**
 * Leases: a job is leased to the executor it went to for as long as that executor heartbeats. When
 * one goes silent for longer than the lease, the instances waiting for its jobs are woken (their
 * result event, with a payload that is not a job) so they look now instead of at the end of their
 * wait: the poll finds the lease expired, the attempt is written `interrupted` and dispatched again on
 * another executor (workflows/lease.ts). Run after heartbeats (the other executors' heartbeats
 * notice one's silence) and by the cron trigger; at most once per SWEEP_EVERY_MS per isolate.
 */
import { and, eq, isNotNull, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../../core/config.ts";
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { executors, stages, tasks } from "../../schema/index.ts";
import { type LeaseLost, resultEventType } from "../../workflows/params.ts";

/** Heartbeats come every few seconds from each executor: one sweep per second is plenty. */
const SWEEP_EVERY_MS = 1_000;
let lastSweep = 0;

/** Stages still running on an executor whose lease expired, and whose task still runs. */
async function lapsed(db: D1Database, now: number, leaseMs: number) {
  return drizzle(db)
    .select({ taskId: stages.taskId, attempt: stages.attempt, jobId: stages.jobId, executorId: stages.executorId })
    .from(stages)
    .innerJoin(tasks, eq(tasks.id, stages.taskId))
    .innerJoin(executors, eq(executors.id, stages.executorId))
    .where(
      and(
        eq(stages.status, "running"),
        eq(tasks.status, "running"),
        isNotNull(stages.executorId),
        lt(executors.lastHeartbeatAt, now - leaseMs),
      ),
    )
    .limit(100);
}

/** Wakes the instances whose job's lease expired; returns how many were woken. Never throws. */
export async function sweepLeases(env: Env, config: Config, now: number, force = false): Promise<number> {
  if (!force && now - lastSweep < SWEEP_EVERY_MS) return 0;
  lastSweep = now;
  let woken = 0;
  try {
    for (const s of await lapsed(env.DB, now, config.leaseMs)) {
      const payload: LeaseLost = { leaseExpired: true, executorId: s.executorId ?? "", jobId: s.jobId };
      try {
        const instance = await env.EXECUTE_WORKFLOW.get(s.taskId);
        await instance.sendEvent({ type: resultEventType(s.attempt), payload });
        woken += 1;
        log("info", "lease_expired", { taskId: s.taskId, attempt: s.attempt, executorId: s.executorId });
      } catch (err) {
        // The instance may be gone or finished; its poll (or reconcile) finds the lapse anyway.
        log("warn", "lease_wake_failed", { taskId: s.taskId, attempt: s.attempt, error: describe(err) });
      }
    }
  } catch (err) {
    // A D1 blip: the next heartbeat sweeps again.
    log("warn", "lease_sweep_failed", { error: describe(err) });
  }
  return woken;
}
