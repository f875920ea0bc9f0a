import { NonRetryableError } from "cloudflare:workflows";
import { type JobRequest, type JobStatus, MIN_BUDGET_USD, type ProfileName } from "@vault-mcp/contract";
import type { Config } from "../../core/config.ts";
import type { ExecutorClient } from "../executor-client.ts";
import type { ExecuteParams } from "../params.ts";
import { composePrompt, promptVersion } from "../prompt.ts";
import type { StageBase } from "./facts.ts";
import { runningStageStatement } from "./write.ts";

/** The executor's idempotency key: one CLI run per attempt of a task, however often dispatch retries. */
export const jobKeyFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/** What an instance keeps from dispatch: small, so the step output stays tiny. */
export interface Dispatched {
  jobId: string;
  jobKey: string;
  status: JobStatus;
  promptVersion: string;
}

/** Pure: the same inputs give the same body, which the executor's jobKey check requires (else 422). */
export function buildJobRequest(
  p: Pick<ExecuteParams, "taskId" | "repo" | "ref" | "verbosity" | "verify">,
  prompt: string,
  profile: ProfileName,
  attempt: number,
  config: Pick<Config, "jobTimeoutMs" | "publicUrl">,
  budgetLeftUsd: number | undefined,
): JobRequest {
  return {
    jobKey: jobKeyFor(p.taskId, attempt),
    profile,
    prompt,
    repo: p.repo,
    ...(p.ref ? { ref: p.ref } : {}),
    timeoutMs: config.jobTimeoutMs,
    verbosity: p.verbosity,
    ...(p.verify ? { verify: p.verify } : {}),
    callbackUrl: `${config.publicUrl}/api/callback/${p.taskId}`,
    // The run itself stops at what is left of the cap (claude: --max-budget-usd; others: the executor).
    ...(budgetLeftUsd !== undefined ? { maxBudgetUsd: Math.max(MIN_BUDGET_USD, budgetLeftUsd) } : {}),
  };
}

/**
 * Reads the prompt and spec (they live in D1, not in the instance params), POSTs the job (the
 * executor answers 202 at once), then records the attempt as `running` with its job id. A retried
 * step sends the same jobKey and body, which the executor answers with the job it already has: never
 * a second CLI run; the running row is written once.
 */
export async function dispatchJob(
  db: D1Database,
  client: ExecutorClient,
  config: Pick<Config, "jobTimeoutMs" | "publicUrl">,
  p: ExecuteParams,
  base: StageBase,
  instructions: string | undefined,
  budgetLeftUsd: number | undefined,
  now: number,
): Promise<Dispatched> {
  const task = await db
    .prepare("SELECT prompt, spec FROM tasks WHERE id = ?1")
    .bind(p.taskId)
    .first<{ prompt: string; spec: string | null }>();
  if (!task) throw new NonRetryableError(`task '${p.taskId}' has no row`);
  const prompt = composePrompt(task.prompt, task.spec, instructions);
  const view = await client.submitJob(buildJobRequest(p, prompt, base.profile, base.attempt, config, budgetLeftUsd));
  const dispatched = {
    jobId: view.jobId,
    jobKey: view.jobKey,
    status: view.status,
    promptVersion: await promptVersion(prompt),
  };
  await runningStageStatement(db, base, dispatched, now).run();
  return dispatched;
}
