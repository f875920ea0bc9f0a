/**
 * Posts a finished job to its callbackUrl, signed with CALLBACK_SECRET, retried with exponential
 * backoff and jitter. Losing it loses nothing: the Worker also polls GET /jobs/:id.
 */
import { SIGNATURE_HEADER, signBody, type JobView } from "@vault-mcp/contract";
import { log } from "./log.ts";

export interface CallbackOptions {
  attempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export async function sendCallback(url: string, secret: string, view: JobView, opts: CallbackOptions = {}): Promise<{ ok: boolean; attempts: number }> {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 1_000;
  const doFetch = opts.fetch ?? fetch;
  const body = JSON.stringify(view);
  for (let i = 1; i <= attempts; i++) {
    try {
      // Signed per attempt: the timestamp in the signature must be fresh when it arrives.
      const res = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signBody(secret, body) },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      if (res.ok) return { ok: true, attempts: i };
      // 4xx other than 408/429 will not get better by retrying.
      if (res.status < 500 && res.status !== 408 && res.status !== 429) {
        log("warn", "callback_refused", { jobId: view.jobId, status: res.status });
        return { ok: false, attempts: i };
      }
      log("warn", "callback_retry", { jobId: view.jobId, status: res.status, attempt: i });
    } catch (err) {
      log("warn", "callback_retry", { jobId: view.jobId, error: err instanceof Error ? err.message : String(err), attempt: i });
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, base * 2 ** (i - 1) * (0.75 + Math.random() * 0.5)));
  }
  return { ok: false, attempts };
}
