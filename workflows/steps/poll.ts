import type { JobStatus } from "@vault-mcp/contract";
import { type ExecutorClient, isFinished } from "../executor-client.ts";

/** What one poll of the job tells the result wait: small, so the step output stays tiny. */
export interface Polled {
  jobId: string;
  status: JobStatus;
  finished: boolean;
}

/**
 * One look at the job after a period of the result wait with no (valid) callback. A job still queued
 * or running is an answer, not a failure: the wait goes on to its next period. A job the executor no
 * longer knows is final (404).
 */
export async function pollJob(client: ExecutorClient, jobId: string): Promise<Polled> {
  const view = await client.getJob(jobId);
  return { jobId, status: view.status, finished: isFinished(view) };
}
