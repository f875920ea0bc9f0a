import type { JobStatus } from "@vault-mcp/contract";
import type { Config } from "../../core/config.ts";
import { type ExecutorClient, isFinished } from "../executor-client.ts";
import { leaseHolds } from "../lease.ts";

/** What one poll of the job tells the result wait: small, so the step output stays tiny. */
export interface Polled {
  jobId: string;
  status: JobStatus;
  finished: boolean;
  /** The job's executor sent no heartbeat within the lease: the job counts as lost (workflows/lease.ts). */
  leaseExpired?: true;
}

export interface PollInput {
  client: ExecutorClient;
  jobId: string;
  /** The executor the job went to (the stage's). */
  executorId: string;
  config: Pick<Config, "leaseMs" | "executorUrl">;
  now: number;
}

/**
 * One look at the job after a period of the result wait with no (valid) callback, or after a lease
 * sweep woke the wait. The lease first: an executor silent past it has lost the job (`leaseExpired`,
 * and no request to a machine that is gone). A job still queued or running is an answer, not a
 * failure: the wait goes on to its next period. A job the executor no longer knows is final (404).
 */
export async function pollJob(db: D1Database, r: PollInput): Promise<Polled> {
  if (!(await leaseHolds(db, r.executorId, r.config, r.now)))
    return { jobId: r.jobId, status: "running", finished: false, leaseExpired: true };
  const view = await r.client.getJob(r.jobId);
  return { jobId: r.jobId, status: view.status, finished: isFinished(view) };
}
