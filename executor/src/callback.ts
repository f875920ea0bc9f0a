/**
 * Posts a finished job's JobView to its callbackUrl, signed with CALLBACK_SECRET, retried with
 * exponential backoff and jitter (6 tries over about a minute by default). Losing it loses nothing:
 * the state stays `pending` in the store until it is delivered (a restart resends it), and the
 * Worker also polls GET /jobs/:id.
 */
import { type JobView, SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";
import { log } from "./log.ts";

export interface CallbackOptions {
  attempts?: number;
  /** First retry delay; each further one doubles (2, 4, 8, 16, 32 s: about a minute in all). */
  baseDelayMs?: number;
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
  /** `gaveUp`: refused (4xx) or out of attempts. `stopped`: the signal fired; try again after a restart. */
  | { ok: false; attempts: number; reason: "gaveUp" | "stopped" };

/** Delay before retry `i` (1-based): base × 2^(i-1), ±25 %. */
export function backoffMs(i: number, baseMs: number, random: () => number = Math.random): number {
  return Math.round(baseMs * 2 ** (i - 1) * (0.75 + random() * 0.5));
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

export async function sendCallback(
  url: string,
  secret: string,
  view: JobView,
  opts: CallbackOptions = {},
): Promise<CallbackOutcome> {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 2_000;
  const doFetch = opts.fetch ?? fetch;
  const body = JSON.stringify(view);
  for (let i = 1; i <= attempts; i++) {
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
      // A 4xx other than 408/429 will not get better by retrying (wrong secret, unknown job).
      if (res.status < 500 && res.status !== 408 && res.status !== 429) {
        log("warn", "callback_refused", { jobId: view.jobId, status: res.status, attempt: i });
        return { ok: false, attempts: i, reason: "gaveUp" };
      }
      log("warn", "callback_retry", { jobId: view.jobId, status: res.status, attempt: i });
    } catch (err) {
      if (opts.signal?.aborted) return { ok: false, attempts: i, reason: "stopped" };
      // Our per-attempt timeout, told apart from a refused connection or a reset.
      const timedOut = err instanceof Error && err.name === "TimeoutError";
      log("warn", "callback_retry", {
        jobId: view.jobId,
        error: err instanceof Error ? err.message : String(err),
        timedOut,
        attempt: i,
      });
    }
    if (i < attempts) await sleep(backoffMs(i, base, opts.random), opts.signal);
  }
  return opts.signal?.aborted ? { ok: false, attempts, reason: "stopped" } : { ok: false, attempts, reason: "gaveUp" };
}
