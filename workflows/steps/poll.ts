import { TERMINAL_JOB_STATUSES } from "@vault-mcp/contract";
import type { Config } from "../../worker/config.ts";
import { ExecutorError, getJob } from "../executor-client.ts";

/** Used when no callback came: throws (and the step retries with backoff) until the job is done. */
export async function pollJob(config: Config, jobId: string): Promise<{ jobId: string; status: string }> {
  const view = await getJob(config, jobId);
  if (!TERMINAL_JOB_STATUSES.includes(view.status)) {
    throw new ExecutorError(`job ${jobId} is still ${view.status}`, null, true);
  }
  return { jobId, status: view.status };
}
