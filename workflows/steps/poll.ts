import { type ExecutorClient, ExecutorError, isFinished } from "../executor-client.ts";

/**
 * Used when no callback came. Throws a retryable `running` failure (the step retries with backoff,
 * bounded) until the job has finished; a job the executor no longer knows is final (404).
 */
export async function pollJob(client: ExecutorClient, jobId: string): Promise<{ jobId: string; status: string }> {
  const view = await client.getJob(jobId);
  if (!isFinished(view)) throw new ExecutorError("running", `job ${jobId} is still ${view.status}`, true);
  return { jobId, status: view.status };
}
