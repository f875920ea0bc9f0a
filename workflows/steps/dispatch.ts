import { NonRetryableError } from "cloudflare:workflows";
import { type JobRequest, type JobStatus, MIN_BUDGET_USD, type ProfileName } from "@vault-mcp/contract";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../../core/config.ts";
import { tasks } from "../../schema/index.ts";
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

export interface JobRequestInput {
  params: Pick<ExecuteParams, "taskId" | "repo" | "ref" | "verbosity" | "verify" | "source">;
  prompt: string;
  profile: ProfileName;
  attempt: number;
  config: Pick<Config, "jobTimeoutMs" | "publicUrl">;
  /** What is left of the task's cap; undefined: no cap is sent. */
  budgetLeftUsd: number | undefined;
}

/** Pure: the same inputs give the same body, which the executor's jobKey check requires (else 422). */
export function buildJobRequest(r: JobRequestInput): JobRequest {
  const p = r.params;
  return {
    jobKey: jobKeyFor(p.taskId, r.attempt),
    profile: r.profile,
    prompt: r.prompt,
    repo: p.repo,
    ...(p.ref ? { ref: p.ref } : {}),
    // A repo registered by URL: the executor clones it once and fetches its default branch first.
    ...(p.source ? { source: p.source } : {}),
    timeoutMs: r.config.jobTimeoutMs,
    verbosity: p.verbosity,
    ...(p.verify ? { verify: p.verify } : {}),
    callbackUrl: `${r.config.publicUrl}/api/callback/${p.taskId}`,
    // The run itself stops at what is left of the cap (claude: --max-budget-usd; others: the executor).
    ...(r.budgetLeftUsd !== undefined ? { maxBudgetUsd: Math.max(MIN_BUDGET_USD, r.budgetLeftUsd) } : {}),
  };
}

export interface DispatchInput {
  client: ExecutorClient;
  config: Pick<Config, "jobTimeoutMs" | "publicUrl">;
  params: ExecuteParams;
  base: StageBase;
  /** A human's instructions for this run (a retry), added to the prompt. */
  instructions: string | undefined;
  budgetLeftUsd: number | undefined;
  now: number;
}

/**
 * Reads the prompt and spec (they live in D1, not in the instance params), POSTs the job (the
 * executor answers 202 at once), then records the attempt as `running` with its job id. A retried
 * step sends the same jobKey and body, which the executor answers with the job it already has: never
 * a second CLI run; the running row is written once.
 */
export async function dispatchJob(db: D1Database, r: DispatchInput): Promise<Dispatched> {
  const d = drizzle(db);
  const { params: p, base } = r;
  const [task] = await d.select({ prompt: tasks.prompt, spec: tasks.spec }).from(tasks).where(eq(tasks.id, p.taskId));
  if (!task) throw new NonRetryableError(`task '${p.taskId}' has no row`);
  const prompt = composePrompt(task.prompt, task.spec, r.instructions);
  const view = await r.client.submitJob(
    buildJobRequest({
      params: p,
      prompt,
      profile: base.profile,
      attempt: base.attempt,
      config: r.config,
      budgetLeftUsd: r.budgetLeftUsd,
    }),
  );
  const dispatched = {
    jobId: view.jobId,
    jobKey: view.jobKey,
    status: view.status,
    promptVersion: await promptVersion(prompt),
  };
  await runningStageStatement(d, base, dispatched, r.now);
  return dispatched;
}
