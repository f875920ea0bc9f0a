import type { Config } from "../../core/config.ts";
import { type ExecutorClient, finishedJob } from "../executor-client.ts";
import { leaseHolds } from "../lease.ts";

export interface PollInput {
  client: ExecutorClient;
  jobId: string;
  executorId: string;
  config: Pick<Config, "leaseMs" | "executorUrl">;
  now: number;
}

/**
 * Used when no callback came (or a lease sweep woke the wait). The lease first: an executor silent
 * past it has lost the job (`leaseExpired`, no request to a machine that is gone). Otherwise throws a
 * retryable `running` failure (the step retries with backoff, bounded) until the job has finished; a
 * job the executor no longer knows is final (404).
 */
export async function pollJob(
  db: D1Database,
  r: PollInput,
): Promise<{ jobId: string; status: string; leaseExpired?: true }> {
  if (!(await leaseHolds(db, r.executorId, r.config, r.now)))
    return { jobId: r.jobId, status: "running", leaseExpired: true };
  const view = await finishedJob(r.client, r.jobId);
  return { jobId: r.jobId, status: view.status };
}
