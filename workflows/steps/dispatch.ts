import { NonRetryableError } from "cloudflare:workflows";
import type { JobRequest, JobStatus, ProfileName } from "@vault-mcp/contract";
import type { Config } from "../../core/config.ts";
import type { ExecutorClient } from "../executor-client.ts";
import type { ExecuteParams } from "../params.ts";

/** The executor's idempotency key: one CLI run per attempt of a task, however often dispatch retries. */
export const jobKeyFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/** What an instance keeps from dispatch: small, so the step output stays tiny. */
export interface Dispatched {
  jobId: string;
  jobKey: string;
  status: JobStatus;
}

/** Pure: the same inputs give the same body, which the executor's jobKey check requires (else 422). */
export function buildJobRequest(
  p: Pick<ExecuteParams, "taskId" | "repo" | "ref" | "verbosity" | "verify">,
  prompt: string,
  profile: ProfileName,
  attempt: number,
  config: Pick<Config, "jobTimeoutMs" | "publicUrl">,
  instructions: string | undefined,
): JobRequest {
  return {
    jobKey: jobKeyFor(p.taskId, attempt),
    profile,
    prompt: instructions ? `${prompt}\n\nInstructions from the reviewer:\n${instructions}` : prompt,
    repo: p.repo,
    ...(p.ref ? { ref: p.ref } : {}),
    timeoutMs: config.jobTimeoutMs,
    verbosity: p.verbosity,
    ...(p.verify ? { verify: p.verify } : {}),
    callbackUrl: `${config.publicUrl}/api/callback/${p.taskId}`,
  };
}

/**
 * Reads the prompt (it lives in D1, not in the instance params) and POSTs the job; the executor
 * answers 202 at once. A retried step sends the same jobKey and body, which the executor answers with
 * the job it already has: never a second CLI run.
 */
export async function dispatchJob(
  db: D1Database,
  client: ExecutorClient,
  config: Pick<Config, "jobTimeoutMs" | "publicUrl">,
  p: ExecuteParams,
  profile: ProfileName,
  attempt: number,
  instructions: string | undefined,
): Promise<Dispatched> {
  const task = await db.prepare("SELECT prompt FROM tasks WHERE id = ?1").bind(p.taskId).first<{ prompt: string }>();
  if (!task) throw new NonRetryableError(`task '${p.taskId}' has no row`);
  const view = await client.submitJob(buildJobRequest(p, task.prompt, profile, attempt, config, instructions));
  return { jobId: view.jobId, jobKey: view.jobKey, status: view.status };
}
