import { type ExecutorClient, finishedJob } from "../executor-client.ts";

/**
 * Used when no callback came. Throws a retryable `running` failure (the step retries with backoff,
 * bounded) until the job has finished; a job the executor no longer knows is final (404).
 */
export async function pollJob(client: ExecutorClient, jobId: string): Promise<{ jobId: string; status: string }> {
  const view = await finishedJob(client, jobId);
  return { jobId, status: view.status };
}
