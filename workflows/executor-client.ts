/**
 * The Worker's client for the executor's job API (POST /jobs, GET /jobs/:id). It classifies every
 * failure so the engine knows what to retry:
 *   400/401/403/404/422 and answers that break the contract → NonRetryableError (one attempt);
 *   429, 5xx and network errors → ExecutorError (the step retries; 429 carries Retry-After).
 * An error crossing `step.do` arrives as a plain Error whose message is `<Name>: <message>` (its class
 * and fields are lost), so each message starts with a `[executor:<failure>]` tag that
 * `classifyFailure` (./failures.ts) and `executorRetryDelay` read back.
 */

import { NonRetryableError } from "cloudflare:workflows";
import { JobRequest, JobView, TERMINAL_JOB_STATUSES, WireError } from "@vault-mcp/contract";
import type { Config } from "../core/config.ts";

export type ExecutorFailure = "auth" | "refused" | "unreachable" | "busy" | "server" | "running" | "bad_answer";
export type ExecutorFetch = (input: string, init?: RequestInit) => Promise<Response>;

export const executorTag = (failure: ExecutorFailure): string => `[executor:${failure}]`;

/** A retryable executor failure. (Final ones are NonRetryableError with the same tag.) */
export class ExecutorError extends Error {
  override readonly name = "ExecutorError";
  constructor(
    readonly failure: ExecutorFailure,
    message: string,
    readonly status: number | null,
  ) {
    super(`${executorTag(failure)} ${message}`);
  }
}

function final(failure: ExecutorFailure, message: string): NonRetryableError {
  return new NonRetryableError(`${executorTag(failure)} ${message}`);
}

export interface ExecutorClient {
  submitJob(req: JobRequest): Promise<JobView>;
  getJob(jobId: string): Promise<JobView>;
}

let fetchOverride: ExecutorFetch | null = null;

/** Test seam: workerd tests swap in a format-faithful fake executor. Production never calls it. */
export function setExecutorFetch(f: ExecutorFetch | null): void {
  fetchOverride = f;
}

/** The fetch the workflow uses: the global one unless a test swapped it. */
export function executorFetch(): ExecutorFetch {
  return fetchOverride ?? ((input, init) => fetch(input, init));
}

const FINAL_STATUSES = new Set([400, 401, 403, 404, 422]);
/** One HTTP exchange; the steps' own timeouts (≥ 30 s) leave room for it. */
const REQUEST_TIMEOUT_MS = 20_000;
/** Longest Retry-After we honour; a busier executor gets the step's later retries. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** `Retry-After: 7` or an HTTP date → milliseconds (5 s when absent or unreadable). */
export function parseRetryAfter(value: string | null, now = Date.now()): number {
  if (value === null || value.trim() === "") return 5_000;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : 5_000;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export function executorClient(
  config: Pick<Config, "executorUrl" | "executorSecret">,
  fetchFn: ExecutorFetch = executorFetch(),
): ExecutorClient {
  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    let text: string;
    try {
      res = await fetchFn(`${config.executorUrl}${path}`, {
        method,
        // The executor's own secret; the caller's bearer token is never forwarded.
        headers: {
          "x-auth-token": config.executorSecret,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw new ExecutorError(
        "unreachable",
        `executor unreachable at ${config.executorUrl}: ${err instanceof Error ? err.message : String(err)}`,
        null,
      );
    }
    if (res.ok) {
      const json = safeJson(text);
      if (json === null)
        throw final("bad_answer", `executor sent a non-JSON ${res.status} answer to ${method} ${path}`);
      return json;
    }
    const wire = WireError.safeParse(safeJson(text));
    const detail = wire.success
      ? `${wire.data.error.code}: ${wire.data.error.message.slice(0, 300)}`
      : `HTTP ${res.status}`;
    if (res.status === 429) {
      const afterMs = parseRetryAfter(res.headers.get("retry-after"));
      throw new ExecutorError("busy", `executor busy (${detail}); retry after ${Math.ceil(afterMs / 1000)} s`, 429);
    }
    if (res.status === 401 || res.status === 403) {
      throw final(
        "auth",
        `executor refused the job (HTTP ${res.status}): ${detail}; check EXECUTOR_SECRET on both sides`,
      );
    }
    if (FINAL_STATUSES.has(res.status))
      throw final("refused", `executor refused ${method} ${path} (HTTP ${res.status}): ${detail}`);
    throw new ExecutorError("server", `executor error on ${method} ${path} (${detail})`, res.status);
  }

  function view(json: unknown, what: string): JobView {
    const parsed = JobView.safeParse(json);
    if (!parsed.success)
      throw final(
        "bad_answer",
        `executor's answer to ${what} is not a JobView (contract mismatch between Worker and executor)`,
      );
    return parsed.data;
  }

  return {
    async submitJob(req) {
      const v = view(await call("POST", "/jobs", JobRequest.parse(req)), "POST /jobs");
      if (v.jobKey !== req.jobKey)
        throw final("bad_answer", `executor answered job key '${v.jobKey}' for '${req.jobKey}'`);
      return v;
    },
    async getJob(jobId) {
      return view(await call("GET", `/jobs/${encodeURIComponent(jobId)}`), `GET /jobs/${jobId}`);
    },
  };
}

export const isFinished = (v: Pick<JobView, "status">): boolean => TERMINAL_JOB_STATUSES.includes(v.status);

/**
 * A retry delay for executor-facing steps: exponential from `baseMs`, capped at `maxMs`, and never
 * shorter than the executor's Retry-After (read from the tagged message, the only part that survives).
 * Pass it with `backoff: "constant"`: the engine multiplies a function's answer for other backoffs.
 */
export function executorRetryDelay(
  baseMs: number,
  maxMs: number,
): (input: { ctx: { attempt: number }; error: Error }) => number {
  return ({ ctx, error }) => {
    const backoff = Math.min(baseMs * 2 ** Math.max(0, ctx.attempt - 1), maxMs);
    const m = /retry after (\d+) s/.exec(error.message);
    return m ? Math.max(backoff, Math.min(Number(m[1]) * 1000, MAX_RETRY_AFTER_MS)) : backoff;
  };
}
