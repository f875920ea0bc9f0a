/**
 * The Worker's client for the executor's job API (POST /jobs, GET /jobs/:id, and a finished job's
 * deliver, discard and diff). Every failure is an ExecutorError that says what went wrong and
 * whether trying again can help:
 *   400/401/403/404/409/413/422, the delivery refusals (delivery_auth, delivery_api: 502 but only a
 *   person can fix them) and answers that break the contract → final;
 *   429, other 5xx (delivery_network among them) and network errors → retryable (429 carries Retry-After).
 * Steps retry the retryable ones and, on their last try, answer any of them as a tagged result
 * (`AttemptFailure`), so the workflow branches on data, never on an error's text.
 */

import {
  DeliverRequest,
  DeliverResult,
  DiffPage,
  type DiffSide,
  DiscardRequest,
  DiscardResult,
  ExecutorHealth,
  JobRequest,
  JobView,
  TERMINAL_JOB_STATUSES,
  WireError,
} from "@vault-mcp/contract";
import type { z } from "zod";
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
    /** The executor's wire error code (`delivery_auth`, `not_deliverable`, …), when it sent one. */
    readonly code: string | null = null,
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
  /** Push a succeeded job's commit to `vault/<taskId>` (and open or update its pull request); idempotent. */
  deliver(jobId: string, req: DeliverRequest): Promise<DeliverResult>;
  /** Close the branch's pull requests and delete the branch; again, nothing left to do. */
  discard(jobId: string, req: DiscardRequest): Promise<DiscardResult>;
  /** One page of the job's diff against its base (side b: consensus' second run). */
  diff(jobId: string, page: { cursor?: string | undefined; side: DiffSide }): Promise<DiffPage>;
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

const FINAL_STATUSES = new Set([400, 401, 403, 404, 405, 409, 413, 415, 422]);
/** Delivery refusals a retry cannot fix (the credentials, the repository, a protected branch). */
const FINAL_CODES = new Set(["delivery_auth", "delivery_api", "delivery_refused", "not_deliverable"]);
/** One HTTP exchange; the steps' own timeouts (≥ 30 s) leave room for it. */
const REQUEST_TIMEOUT_MS = 20_000;
/**
 * One deliver or discard: the executor bounds its push and GitHub calls by DELIVERY_TIMEOUT_MS
 * (120 s by default), so its answer (success or a clear error) comes before this.
 */
export const DELIVERY_REQUEST_TIMEOUT_MS = 150_000;

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
  async function call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<unknown> {
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
        signal: AbortSignal.timeout(timeoutMs),
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
    const code = wire.success ? wire.data.error.code : null;
    const detail = wire.success
      ? `${wire.data.error.code}: ${wire.data.error.message.slice(0, 300)}`
      : `HTTP ${res.status}`;
    // A delivery refusal: the executor's message says what to fix (credentials file, repository), whole.
    if (wire.success && (FINAL_CODES.has(wire.data.error.code) || wire.data.error.code === "delivery_network"))
      throw new ExecutorError(
        wire.data.error.code === "delivery_network" ? "server" : "refused",
        wire.data.error.message.slice(0, 1000),
        wire.data.error.code === "delivery_network",
        null,
        code,
      );
    if (res.status === 429) {
      const afterMs = parseRetryAfter(res.headers.get("retry-after"));
      throw new ExecutorError(
        "busy",
        `executor busy (${detail}); retry after ${Math.ceil(afterMs / 1000)} s`,
        true,
        afterMs,
        code,
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
      throw new ExecutorError(
        "refused",
        `executor refused ${method} ${path} (HTTP ${res.status}): ${detail}`,
        false,
        null,
        code,
      );
    throw new ExecutorError("server", `executor error on ${method} ${path} (${detail})`, true, null, code, res.status);
  }

  function answer<S extends z.ZodType>(schema: S, json: unknown, what: string): z.infer<S> {
    const r = schema.safeParse(json);
    if (!r.success)
      throw final("bad_answer", `executor's answer to ${what} breaks the contract (update the Worker or the executor)`);
    return r.data;
  }
  const jobPath = (jobId: string, action: string) => `/jobs/${encodeURIComponent(jobId)}/${action}`;

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
    async deliver(jobId, req) {
      const path = jobPath(jobId, "deliver");
      const body = DeliverRequest.parse(req);
      return answer(DeliverResult, await call("POST", path, body, DELIVERY_REQUEST_TIMEOUT_MS), `POST ${path}`);
    },
    async discard(jobId, req) {
      const path = jobPath(jobId, "discard");
      const body = DiscardRequest.parse(req);
      return answer(DiscardResult, await call("POST", path, body, DELIVERY_REQUEST_TIMEOUT_MS), `POST ${path}`);
    },
    async diff(jobId, page) {
      const q = new URLSearchParams({ side: page.side, ...(page.cursor ? { cursor: page.cursor } : {}) });
      const path = `${jobPath(jobId, "diff")}?${q}`;
      return answer(DiffPage, await call("GET", path), `GET ${path}`);
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
  /** The executor's wire code, when it sent one (`delivery_auth`, …). */
  code?: string;
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
    return {
      ok: false,
      kind: err.failure,
      message: err.message.slice(0, 1000),
      ...(err.code === null ? {} : { code: err.code }),
    };
  }
}
