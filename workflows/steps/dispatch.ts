import { NonRetryableError } from "cloudflare:workflows";
import {
  CONFIGURED_EXECUTOR_ID,
  type JobRequest,
  type JobStatus,
  type JobView,
  MIN_BUDGET_USD,
  type ProfileName,
} from "@vault-mcp/contract";
import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../../core/config.ts";
import { stages, tasks } from "../../schema/index.ts";
import { type ExecutorClient, ExecutorError } from "../executor-client.ts";
import type { ExecuteParams } from "../params.ts";
import { type PoolMember, selectExecutor } from "../pool.ts";
import { claimExecutor } from "../pool-claim.ts";
import { findExecutor, type PoolSnapshot, poolFrom, poolQueries, readPool } from "../pool-read.ts";
import { composePrompt, promptVersion } from "../prompt.ts";
import type { StageBase } from "./facts.ts";
import { jobStartedStatement, runningStageStatement } from "./write.ts";

/**
 * A dispatch that loses the claim of its executor to a concurrent one reads the pool and chooses
 * again (ties then broken at random, so a burst spreads: about one winner per tied executor and
 * round), at most this often; then it takes its choice unclaimed.
 */
const MAX_CLAIM_TRIES = 20;

const stageIdOf = (base: StageBase): string => `${base.taskId}:${base.attempt}`;

/** The executor's idempotency key: one CLI run per attempt of a task, however often dispatch retries. */
export const jobKeyFor = (taskId: string, attempt: number): string => `${taskId}:${attempt}`;

/** What an instance keeps from dispatch: small, so the step output stays tiny. */
export interface Dispatched {
  jobId: string;
  jobKey: string;
  status: JobStatus;
  promptVersion: string;
  /** The executor the job went to (the stage records it): poll, write and delivery go there. */
  executorId: string;
  executorUrl: string;
}

/**
 * The executor this attempt was sent to stopped heartbeating before its job was confirmed: the
 * attempt is written `interrupted` and dispatched again elsewhere, under a new job key.
 */
export interface DispatchLapsed {
  leaseExpired: true;
  executorId: string;
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
  /** A client for the executor at `url`. */
  clientFor: (url: string) => ExecutorClient;
  config: Pick<Config, "jobTimeoutMs" | "publicUrl" | "executorUrl" | "leaseMs">;
  params: ExecuteParams;
  base: StageBase;
  /** A human's instructions for this run (a retry), added to the prompt. */
  instructions: string | undefined;
  budgetLeftUsd: number | undefined;
  /** The repo is registered with a URL: any executor can fetch it. */
  fetchable: boolean;
  now: number;
}

/**
 * The executor for this attempt: the one its stage row already names (a retried step must send the
 * same job key to the same executor, or a job whose answer was lost would run twice), else the
 * pool's choice (pool.ts), recorded on a `running` row before the job is sent.
 */
async function executorFor(
  db: D1Database,
  r: DispatchInput,
  first: { stageExecutor: string | null; pool: PoolSnapshot },
): Promise<{ member: Pick<PoolMember, "id" | "url">; fresh: boolean }> {
  const d = drizzle(db);
  const { base, config, now } = r;
  const q = { now, leaseMs: config.leaseMs, configuredUrl: config.executorUrl, repo: r.params.repo };
  if (first.stageExecutor) {
    const found = await findExecutor(db, first.stageExecutor, q);
    return found
      ? { member: found, fresh: found.fresh }
      : { member: { id: first.stageExecutor, url: "" }, fresh: false };
  }
  const token = `${stageIdOf(base)}:${crypto.randomUUID()}`;
  let pool = first.pool;
  for (let tries = 1; ; tries++) {
    if (tries > 1) pool = await readPool(db, q);
    const chosen = selectExecutor(
      pool.members,
      { profile: base.profile, repo: r.params.repo, fetchable: r.fetchable },
      pool.ranRepoLast,
      tries > 1 ? `${token}:${tries}` : undefined,
    );
    // Nobody can take it right now (the pool changed since readiness): the step retries.
    if (!chosen.ok) throw new ExecutorError("unreachable", `no executor can take the job now: ${chosen.why}`, true);
    const m = chosen.member;
    if (m.source === "config" || tries > MAX_CLAIM_TRIES) {
      // The configured executor (no pool) has no row to claim; after a few lost races the choice is
      // taken as it is (the executor queues what it cannot run at once).
      await d.batch([
        runningStageStatement(d, base, { executorId: m.id }, now),
        d
          .update(stages)
          .set({ executorId: m.id })
          .where(and(eq(stages.id, stageIdOf(base)), isNull(stages.executorId))),
      ]);
      return { member: m, fresh: true };
    }
    if (await claimExecutor(d, base, { executorId: m.id, seen: m.claims, token }, now))
      return { member: m, fresh: true };
  }
}

/**
 * Reads the prompt and spec (they live in D1, not in the instance params), picks the executor and
 * records it on the attempt's `running` row, POSTs the job there (the executor answers 202 at once),
 * then adds the job id to the row. A retried step sends the same jobKey and body to the same
 * executor, which answers with the job it already has: never a second CLI run.
 */
export async function dispatchJob(db: D1Database, r: DispatchInput): Promise<Dispatched | DispatchLapsed> {
  const d = drizzle(db);
  const { params: p, base } = r;
  const q = { now: r.now, leaseMs: r.config.leaseMs, configuredUrl: r.config.executorUrl, repo: p.repo };
  // One round trip for what the choice needs: the task's prompt, the attempt's row, the pool.
  const [[task], [row], ...pool] = await d.batch([
    d.select({ prompt: tasks.prompt, spec: tasks.spec }).from(tasks).where(eq(tasks.id, p.taskId)),
    d
      .select({ executorId: stages.executorId })
      .from(stages)
      .where(eq(stages.id, stageIdOf(base))),
    ...poolQueries(d, q),
  ]);
  if (!task) throw new NonRetryableError(`task '${p.taskId}' has no row`);
  const { member, fresh } = await executorFor(db, r, {
    stageExecutor: row?.executorId ?? null,
    pool: poolFrom(pool, q),
  });
  if (!fresh) return { leaseExpired: true, executorId: member.id };
  const prompt = composePrompt(task.prompt, task.spec, r.instructions);
  let view: JobView;
  try {
    view = await r.clientFor(member.url).submitJob(
      buildJobRequest({
        params: p,
        prompt,
        profile: base.profile,
        attempt: base.attempt,
        config: r.config,
        budgetLeftUsd: r.budgetLeftUsd,
      }),
    );
  } catch (err) {
    // A pool member that refused the job outright (its queue full, drained, shutting down) did not
    // take it: the retry may choose another executor. Anything else may have created it there.
    if (
      err instanceof ExecutorError &&
      member.id !== CONFIGURED_EXECUTOR_ID &&
      (err.status === 429 || err.status === 503)
    )
      await d
        .update(stages)
        .set({ executorId: null })
        .where(and(eq(stages.id, stageIdOf(base)), eq(stages.status, "running"), isNull(stages.jobId)));
    throw err;
  }
  const dispatched = {
    jobId: view.jobId,
    jobKey: view.jobKey,
    status: view.status,
    promptVersion: await promptVersion(prompt),
    executorId: member.id,
    executorUrl: member.url,
  };
  await jobStartedStatement(d, base, dispatched);
  return dispatched;
}
