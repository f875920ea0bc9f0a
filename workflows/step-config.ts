/** Retries and timeouts of every ExecuteWorkflow step, with why each is what it is. */
import type { WorkflowSleepDuration, WorkflowStepConfig } from "cloudflare:workers";
import { executorRetryDelay } from "./executor-client.ts";

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
 * POST /jobs. The executor may be restarting (systemd, a deploy) or busy (429 + Retry-After): about
 * 4 minutes of retries, 2 s doubling to 60 s, never sooner than Retry-After. One request ≤ 20 s.
 */
export const DISPATCH_STEP = {
  retries: { limit: 8, delay: executorRetryDelay(2_000, 60_000), backoff: "constant" },
  timeout: "60 seconds",
} satisfies WorkflowStepConfig;

/**
 * GET /jobs/:id when the callback never came. Retries while the job is still queued or running:
 * 5 s doubling to 5 min, 20 tries ≈ 75 min after the wait's own job timeout + 60 s. Bounded, so a
 * job the executor never finishes cannot keep the instance forever.
 */
export const POLL_STEP = {
  retries: { limit: 20, delay: executorRetryDelay(5_000, 300_000), backoff: "constant" },
  timeout: "45 seconds",
} satisfies WorkflowStepConfig;

/**
 * GET /health before each choice of rung: the executor may be restarting (systemd, a deploy), so as
 * long as dispatch would wait for it (about 4 minutes), then the task ends saying it is unreachable.
 */
export const READINESS_STEP = DISPATCH_STEP;

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

/** The callback comes when the CLI ends; the executor kills a CLI at the job timeout, so a little above. */
export const resultWait = (jobTimeoutMs: number): WorkflowSleepDuration =>
  `${Math.ceil(jobTimeoutMs / 1000) + 60} seconds`;

/** A human raises a halted task's cap or answers at the ladder's top within a day, or the task ends. */
export const BUDGET_WAIT: WorkflowSleepDuration = "24 hours";
export const HUMAN_WAIT: WorkflowSleepDuration = "24 hours";
