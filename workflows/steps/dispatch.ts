import type { JobRequest, Verbosity } from "@vault-mcp/contract";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { NonRetryableError } from "cloudflare:workflows";
import { tasks } from "../../schema/index.ts";
import type { Config } from "../../worker/config.ts";
import { submitJob } from "../executor-client.ts";
import type { ExecuteParams } from "../params.ts";

export const jobKeyFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/** What an instance needs back from dispatch: small, so the step output stays tiny. */
export interface Dispatched {
  jobId: string;
  jobKey: string;
  status: string;
}

export function buildJobRequest(
  p: ExecuteParams,
  prompt: string,
  profile: string,
  attempt: number,
  config: Config,
  instructions: string | undefined,
): JobRequest {
  return {
    jobKey: jobKeyFor(p.taskId, attempt),
    profile: profile as JobRequest["profile"],
    prompt: instructions ? `${prompt}\n\nInstructions from the reviewer:\n${instructions}` : prompt,
    repo: p.repo,
    ...(p.ref ? { ref: p.ref } : {}),
    timeoutMs: config.jobTimeoutMs,
    verbosity: p.verbosity as Verbosity,
    ...(p.verify ? { verify: p.verify } : {}),
    callbackUrl: `${config.publicUrl}/api/callback/${p.taskId}`,
  };
}

/**
 * POSTs the job and returns at once (202). A retried step sends the same jobKey and body, which
 * the executor answers with the job it already has: never a second CLI run.
 */
export async function dispatchJob(
  db: D1Database,
  config: Config,
  p: ExecuteParams,
  profile: string,
  attempt: number,
  instructions: string | undefined,
): Promise<Dispatched> {
  const [task] = await drizzle(db).select({ prompt: tasks.prompt }).from(tasks).where(eq(tasks.id, p.taskId)).limit(1);
  if (!task) throw new NonRetryableError(`task '${p.taskId}' has no row`);
  const view = await submitJob(config, buildJobRequest(p, task.prompt, profile, attempt, config, instructions));
  return { jobId: view.jobId, jobKey: view.jobKey, status: view.status };
}
