/**
 * When an executor-facing step tries again: the delays its retries wait, the executor's Retry-After
 * honoured, and how long dispatch keeps trying. Pure (no Workers API), so the schedule can also be
 * driven against a real executor from Node (test/node/dispatch-busy.test.ts).
 */

/** Longest Retry-After we honour; a busier executor gets the step's later retries. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** `Retry-After: 7` or an HTTP date → milliseconds (5 s when absent or unreadable). */
export function parseRetryAfter(value: string | null, now = Date.now()): number {
  if (value === null || value.trim() === "") return 5_000;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : 5_000;
}

/**
 * The Retry-After an error carries (ExecutorError's `retryAfterMs`). The engine may hand the delay
 * function a copy of the error that lost its fields, so the message's "retry after N s" (which the
 * client writes) is the fallback.
 */
function retryAfterOf(error: Error): number | null {
  const own = (error as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof own === "number") return own;
  const m = /retry after (\d+) s/.exec(error.message);
  return m ? Math.min(Number(m[1]) * 1000, MAX_RETRY_AFTER_MS) : null;
}

export type RetryDelay = (input: { ctx: { attempt: number }; error: Error }) => number;

/**
 * A retry delay for executor-facing steps: exponential from `baseMs`, capped at `maxMs`, and never
 * shorter than the executor's Retry-After. Pass it with `backoff: "constant"`: the engine multiplies
 * a function's answer for other backoffs.
 */
export function executorRetryDelay(baseMs: number, maxMs: number): RetryDelay {
  return ({ ctx, error }) => {
    const backoff = Math.min(baseMs * 2 ** Math.max(0, ctx.attempt - 1), maxMs);
    const asked = retryAfterOf(error);
    return asked === null ? backoff : Math.max(backoff, asked);
  };
}

/** The shortest time dispatch keeps trying an executor that is busy, restarting or down. */
export const DISPATCH_MIN_WAIT_MS = 4 * 60_000;
/** Dispatch's retries grow from 2 s to this: a queue that frees up is found within 20 s, not left idle. */
const DISPATCH_MAX_DELAY_MS = 20_000;

/**
 * How long dispatch keeps trying: 5 job timeouts (at least 4 minutes). A full queue (429 +
 * Retry-After) is back-pressure, never a failure while the jobs ahead can still end: every running
 * job ends within a job timeout, and the executor's default queue (8 jobs behind 2 slots) drains
 * within 4 more. With JOB_TIMEOUT_MS 180 s that is 15 minutes. An executor restarting or down
 * (systemd, a deploy) gets the same time.
 */
export const dispatchWaitMs = (jobTimeoutMs: number): number => Math.max(DISPATCH_MIN_WAIT_MS, 5 * jobTimeoutMs);

/**
 * POST /jobs's retries: at least dispatchWaitMs of them, 2 s doubling to 20 s, never sooner than
 * Retry-After. `limit` counts retries after the first try, as the engine does.
 */
export function dispatchRetries(jobTimeoutMs: number): { limit: number; delay: RetryDelay } {
  // 2 + 4 + 8 + 16 s before the delay reaches its cap; then a try every 20 s (or Retry-After) at most.
  const ramp = 4;
  const limit = ramp + Math.ceil(Math.max(0, dispatchWaitMs(jobTimeoutMs) - 30_000) / DISPATCH_MAX_DELAY_MS);
  return { limit, delay: executorRetryDelay(2_000, DISPATCH_MAX_DELAY_MS) };
}
