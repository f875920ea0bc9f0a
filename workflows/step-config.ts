/** Retries and timeouts of every ExecuteWorkflow step, with why each is what it is. */
import type { WorkflowSleepDuration, WorkflowStepConfig } from "cloudflare:workers";
import { dispatchRetries, executorRetryDelay } from "./retry-delay.ts";

/** Short D1 steps: a few quick retries ride out a D1 blip (1+2+4+8+16 s), then the instance errors. */
export const DB_STEP = {
  retries: { limit: 5, delay: "1 second", backoff: "exponential" },
  timeout: "30 seconds",
} satisfies WorkflowStepConfig;

/** The last, best-effort step after an unrecoverable error: brief, since D1 may be what failed. */
export const FAIL_STEP = {
  retries: { limit: 2, delay: "1 second", backoff: "constant" },
  timeout: "15 seconds",
} satisfies WorkflowStepConfig;

/**
 * POST /jobs. The executor may be busy (429 + Retry-After), restarting (systemd, a deploy) or down:
 * retried for dispatchWaitMs (5 job timeouts, at least 4 minutes; retry-delay.ts), 2 s doubling to
 * 20 s, never sooner than Retry-After. One request ≤ 20 s.
 */
export function dispatchStep(jobTimeoutMs: number) {
  return {
    retries: { ...dispatchRetries(jobTimeoutMs), backoff: "constant" },
    timeout: "60 seconds",
  } satisfies WorkflowStepConfig;
}

/**
 * GET /jobs/:id after each period of the result wait: one cheap look, so a lost callback (or a lost
 * engine timer) costs at most one period. A blip is retried briefly; an executor still down after that
 * is answered as data and the wait goes on to its next period (the executor may be restarting).
 */
export const POLL_STEP = {
  retries: { limit: 2, delay: executorRetryDelay(2_000, 10_000), backoff: "constant" },
  timeout: "30 seconds",
} satisfies WorkflowStepConfig;

/**
 * GET /health before each choice of rung: the executor may be restarting (systemd, a deploy), so about
 * 4 minutes of retries (2 s doubling to 60 s), then the task ends saying it is unreachable.
 */
export const READINESS_STEP = {
  retries: { limit: 8, delay: executorRetryDelay(2_000, 60_000), backoff: "constant" },
  timeout: "60 seconds",
} satisfies WorkflowStepConfig;

/** GET the finished job, then one D1 batch. Either side may blip: ≈ 2 min of retries. */
export const WRITE_STEP = {
  retries: { limit: 6, delay: executorRetryDelay(2_000, 60_000), backoff: "constant" },
  timeout: "60 seconds",
} satisfies WorkflowStepConfig;

/**
 * POST /jobs/:id/deliver: the executor answers within its DELIVERY_TIMEOUT_MS (120 s) and the client
 * waits 150 s (DELIVERY_REQUEST_TIMEOUT_MS), so one try fits in 180 s. Only an unreachable remote or
 * API (delivery_network), another 5xx or a network error is retried: 10 s doubling to 2 min, 4 more
 * tries. Refused credentials or a refused push are final at once: a person must fix them.
 */
export const DELIVER_STEP = {
  retries: { limit: 4, delay: executorRetryDelay(10_000, 120_000), backoff: "constant" },
  timeout: "180 seconds",
} satisfies WorkflowStepConfig;

/**
 * The wait for a job's result, in periods: each a bounded `waitForEvent` followed by one poll, so
 * neither a lost callback nor a timer the engine lost in a restart can hold the task for more than one
 * period. The period is a third of the job timeout (15 s to 5 min); the whole wait is five job
 * timeouts and two minutes: the executor's default queue (8 behind 2 slots) is four job timeouts
 * deep, then the run itself, its kill and its callback.
 */
export interface ResultWait {
  periodMs: number;
  periods: number;
}
export function resultWait(jobTimeoutMs: number): ResultWait {
  const periodMs = Math.min(300_000, Math.max(15_000, Math.ceil(jobTimeoutMs / 3 / 1000) * 1000));
  return { periodMs, periods: Math.ceil((5 * jobTimeoutMs + 120_000) / periodMs) };
}
export const seconds = (ms: number): WorkflowSleepDuration => `${Math.ceil(ms / 1000)} seconds`;

/** A human raises a halted task's cap or answers at the ladder's top within a day, or the task ends. */
export const BUDGET_WAIT: WorkflowSleepDuration = "24 hours";
export const HUMAN_WAIT: WorkflowSleepDuration = "24 hours";
