/**
 * The Worker's client for the executor's job API (POST /jobs, GET /jobs/:id). Every failure is an
 * ExecutorError that says what went wrong and whether trying again can help:
 *   400/401/403/404/413/422 and answers that break the contract → final;
 *   429, 5xx and network errors → retryable (429 carries Retry-After).
 * Steps retry the retryable ones and, on their last try, answer any of them as a tagged result
 * (`AttemptFailure`), so the workflow branches on data, never on an error's text.
 */

import { ExecutorHealth, JobRequest, JobView, TERMINAL_JOB_STATUSES, WireError } from "@vault-mcp/contract";
import type { Config } from "../core/config.ts";
import { parseRetryAfter } from "./retry-delay.ts";

export type ExecutorFailure = "auth" | "refused" | "unreachable" | "busy" | "server" | "running" | "bad_answer";
export type ExecutorFetch = (input: string, init?: RequestInit) => Promise<Response>;

export class ExecutorError extends Error {
  override readonly name = "ExecutorError";
  constructor(
    readonly failure: ExecutorFailure,
    message: string,
    readonly retryable: boolean,
    /** How long the executor asked us to wait (429), in ms. */
    readonly retryAfterMs: number | null = null,
    /** The executor's HTTP status, when it answered one. */
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

function final(failure: ExecutorFailure, message: string): ExecutorError {
  return new ExecutorError(failure, message, false);
}

export interface ExecutorClient {
  submitJob(req: JobRequest): Promise<JobView>;
  getJob(jobId: string): Promise<JobView>;
  /** The open /health: which profiles can run, and the direct profile of each CLI. */
  getHealth(): Promise<ExecutorHealth>;
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

const FINAL_STATUSES = new Set([400, 401, 403, 404, 405, 413, 415, 422]);
/** One HTTP exchange; the steps' own timeouts (≥ 30 s) leave room for it. */
const REQUEST_TIMEOUT_MS = 20_000;
function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the callers answer null as a bad answer or a bare HTTP status.
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
        true,
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
      throw new ExecutorError(
        "busy",
        `executor busy (${detail}); retry after ${Math.ceil(afterMs / 1000)} s`,
        true,
        afterMs,
        429,
      );
    }
    if (res.status === 401 || res.status === 403) {
      throw final(
        "auth",
        `executor refused the job (HTTP ${res.status}): ${detail}; check EXECUTOR_SECRET on both sides`,
      );
    }
    if (FINAL_STATUSES.has(res.status))
      throw final("refused", `executor refused ${method} ${path} (HTTP ${res.status}): ${detail}`);
    throw new ExecutorError("server", `executor error on ${method} ${path} (${detail})`, true, null, res.status);
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
    async getHealth() {
      const parsed = ExecutorHealth.safeParse(await call("GET", "/health"));
      if (!parsed.success)
        throw final("bad_answer", "the executor's /health does not say which profiles can run (update the executor)");
      return parsed.data;
    },
  };
}

export const isFinished = (v: Pick<JobView, "status">): boolean => TERMINAL_JOB_STATUSES.includes(v.status);

/** The job once it has finished; while it is queued or running, a retryable `running` failure. */
export async function finishedJob(client: ExecutorClient, jobId: string): Promise<JobView> {
  const view = await client.getJob(jobId);
  if (!isFinished(view)) throw new ExecutorError("running", `job ${jobId} is still ${view.status}`, true);
  return view;
}

/** Why an attempt could not run, as the workflow sees it: data, not an exception. */
export interface AttemptFailure {
  ok: false;
  kind: ExecutorFailure;
  message: string;
}

/**
 * Runs an executor call inside a step. A retryable failure is thrown while the step has tries left
 * (the engine retries it); a final one, or any failure on the last try, comes back as an
 * AttemptFailure. Anything that is not an ExecutorError (D1, a bug) is thrown as it is.
 */
export async function executorStep<T>(
  ctx: { attempt: number; config: { retries?: { limit: number } } },
  body: () => Promise<T>,
): Promise<{ ok: true; value: T } | AttemptFailure> {
  try {
    return { ok: true, value: await body() };
  } catch (err) {
    if (!(err instanceof ExecutorError)) throw err;
    const lastTry = ctx.attempt > (ctx.config.retries?.limit ?? 0);
    if (err.retryable && !lastTry) throw err;
    return { ok: false, kind: err.failure, message: err.message.slice(0, 1000) };
  }
}
