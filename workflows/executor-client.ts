/**
 * The Worker's client for the executor's job API. Classifies failures so steps know what to retry:
 * 400/401/403/404/422 are final (NonRetryableError), 429/5xx/network are retried (429 waits for
 * Retry-After first, within the step's timeout).
 */
import { JobRequest, JobView, WireError } from "@vault-mcp/contract";
import { NonRetryableError } from "cloudflare:workflows";
import type { Config } from "../worker/config.ts";

export class ExecutorError extends Error {
  override readonly name = "ExecutorError";
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;
let fetchImpl: Fetch | null = null;

/** Tests swap in a format-faithful fake executor; production uses the global fetch. */
export function setExecutorFetch(f: Fetch | null): void {
  fetchImpl = f;
}

const FINAL_STATUSES = new Set([400, 401, 403, 404, 422]);
const MAX_RETRY_AFTER_MS = 20_000;

async function call(config: Config, method: string, path: string, body?: unknown): Promise<unknown> {
  const f = fetchImpl ?? ((input: string, init?: RequestInit) => fetch(input, init));
  let res: Response;
  try {
    res = await f(`${config.executorUrl}${path}`, {
      method,
      headers: { "x-auth-token": config.executorSecret, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (err) {
    throw new ExecutorError(`executor unreachable: ${err instanceof Error ? err.message : String(err)}`, null, true);
  }
  const text = await res.text();
  if (res.ok) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ExecutorError(`executor sent a non-JSON ${res.status} answer`, res.status, true);
    }
  }
  const wire = WireError.safeParse(safeJson(text));
  const detail = wire.success ? `${wire.data.error.code}: ${wire.data.error.message}` : `HTTP ${res.status}`;
  if (res.status === 429) {
    const after = Number(res.headers.get("retry-after") ?? "5");
    await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(after) ? after * 1000 : 5000, MAX_RETRY_AFTER_MS)));
    throw new ExecutorError(`executor busy (${detail})`, 429, true);
  }
  if (FINAL_STATUSES.has(res.status)) {
    const hint = res.status === 401 || res.status === 403 ? " (check EXECUTOR_SECRET on both sides)" : "";
    throw new NonRetryableError(`executor refused the job (HTTP ${res.status}): ${detail}${hint}`);
  }
  throw new ExecutorError(`executor error (${detail})`, res.status, true);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export async function submitJob(config: Config, req: JobRequest): Promise<JobView> {
  return JobView.parse(await call(config, "POST", "/jobs", JobRequest.parse(req)));
}

export async function getJob(config: Config, jobId: string): Promise<JobView> {
  return JobView.parse(await call(config, "GET", `/jobs/${encodeURIComponent(jobId)}`));
}
