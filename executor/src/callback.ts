/**
 * Posts a finished job's JobView to its callbackUrl, signed with CALLBACK_SECRET, until the Worker
 * acknowledges it (a 2xx) or says the task no longer wants it (CALLBACK_UNWANTED_STATUSES: 404, 409,
 * 410). Nothing else ends it: network errors, 5xx, 429 and every other 4xx are retried with capped
 * exponential backoff and jitter (2, 4, 8, 16, 32, then every 60 s), for as long as it takes. Only a
 * shutdown stops it (`stopped`): the state stays `pending` in the store and the next start resends it.
 * The Worker also polls GET /jobs/:id, so a late callback costs the task time, never its result.
 */
import { CALLBACK_UNWANTED_STATUSES, type JobView, SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";
import { log } from "./log.ts";

export interface CallbackOptions {
  /** First retry delay; each further one doubles, up to maxDelayMs. */
  baseDelayMs?: number;
  /** The longest wait between two tries. */
  maxDelayMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Stops retrying (shutdown); the callback stays owed. */
  signal?: AbortSignal;
  /** 0..1 → jitter factor; injectable for tests. */
  random?: () => number;
}

export type CallbackOutcome =
  | { ok: true; attempts: number }
  /** `unwanted`: the Worker answered `status`, one of CALLBACK_UNWANTED_STATUSES. `stopped`: shutdown. */
  | { ok: false; attempts: number; reason: "unwanted"; status: number }
  | { ok: false; attempts: number; reason: "stopped" };

export const DEFAULT_BASE_DELAY_MS = 2_000;
export const DEFAULT_MAX_DELAY_MS = 60_000;

/** Delay before retry `i` (1-based): base × 2^(i-1), at most `maxMs`, ±25 %. */
export function backoffMs(
  i: number,
  baseMs: number,
  maxMs: number = DEFAULT_MAX_DELAY_MS,
  random: () => number = Math.random,
): number {
  // The exponent stops growing once the cap is reached, so a long outage never overflows it.
  const plain = Math.min(maxMs, baseMs * 2 ** Math.min(i - 1, 30));
  return Math.round(plain * (0.75 + random() * 0.5));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The first tries are each logged; after them one in ten, so a long outage does not flood the log. */
const logged = (attempt: number) => attempt <= 6 || attempt % 10 === 0;

export async function sendCallback(
  url: string,
  secret: string,
  view: JobView,
  opts: CallbackOptions = {},
): Promise<CallbackOutcome> {
  const base = opts.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = opts.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const doFetch = opts.fetch ?? fetch;
  const body = JSON.stringify(view);
  for (let i = 1; ; i++) {
    if (opts.signal?.aborted) return { ok: false, attempts: i - 1, reason: "stopped" };
    try {
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
      const res = await doFetch(url, {
        method: "POST",
        // Signed per attempt: the signature's timestamp must be fresh when it arrives.
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signBody(secret, body) },
        body,
        signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
      });
      await res.body?.cancel();
      if (res.ok) return { ok: true, attempts: i };
      if (CALLBACK_UNWANTED_STATUSES.includes(res.status)) {
        log("warn", "callback_unwanted", { jobId: view.jobId, status: res.status, attempt: i });
        return { ok: false, attempts: i, reason: "unwanted", status: res.status };
      }
      if (logged(i)) log("warn", "callback_retry", { jobId: view.jobId, status: res.status, attempt: i });
    } catch (err) {
      if (opts.signal?.aborted) return { ok: false, attempts: i, reason: "stopped" };
      // Our per-attempt timeout, told apart from a refused connection or a reset.
      const timedOut = err instanceof Error && err.name === "TimeoutError";
      if (logged(i))
        log("warn", "callback_retry", {
          jobId: view.jobId,
          error: err instanceof Error ? err.message : String(err),
          timedOut,
          attempt: i,
        });
    }
    await sleep(backoffMs(i, base, max, opts.random), opts.signal);
  }
}
