/**
 * The executor's HTTP API: POST /jobs (202, idempotent by jobKey), GET /jobs/:id, POST /execute
 * (waits), GET /health (open). Every other route needs `x-auth-token`, checked before the body is
 * read. Admission (queue room) and idempotency are decided synchronously after validation.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { JobRequest, TERMINAL_JOB_STATUSES, type CliName } from "@vault-mcp/contract";
import type { ExecutorConfig } from "../config.ts";
import type { CliInfo } from "../health.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { bodyHash, toView, type JobStore } from "../jobs/store.ts";
import { log } from "../log.ts";
import { ProfileError } from "../profiles.ts";
import type { JobQueue } from "../queue.ts";
import type { GitWorktreeManager } from "../worktree/manager.ts";
import { tokenMatches } from "./auth.ts";
import { HttpError, readJson, send, sendError } from "./http.ts";

export const VERSION = "0.1.0";

export interface AppDeps {
  config: ExecutorConfig;
  store: JobStore;
  queue: JobQueue;
  runner: JobRunner;
  worktrees: Pick<GitWorktreeManager, "repoPath">;
  /** Aborts running CLIs at shutdown. */
  abort: AbortController;
  clis: () => Record<CliName, CliInfo> | null;
  startedAt: number;
}

export interface App {
  server: Server;
  /** 503 for new jobs from now on. */
  startDraining(): void;
  readonly draining: boolean;
}

function zodMessage(err: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return err.issues
    .slice(0, 8)
    .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}

export function createApp(deps: AppDeps): App {
  const { config, store, queue, runner } = deps;
  let draining = false;

  const enqueue = (jobId: string, slots: number) => queue.submit({ id: jobId, slots, run: () => runner.run(jobId, deps.abort.signal) });

  async function submit(req: IncomingMessage): Promise<{ status: number; jobId: string }> {
    if (draining) throw new HttpError(503, "shutting_down", "the executor is shutting down; retry shortly", { "retry-after": "10" });
    const parsed = JobRequest.safeParse(await readJson(req, config.MAX_BODY_BYTES));
    if (!parsed.success) throw new HttpError(400, "invalid_input", `invalid job: ${zodMessage(parsed.error)}`);
    const job = parsed.data;
    let sides: number;
    try {
      sides = runner.sidesFor(job).length;
      await deps.worktrees.repoPath(job.repo);
    } catch (err) {
      if (err instanceof ProfileError || (err instanceof Error && "code" in err && err.code === "repo_not_allowed")) {
        throw new HttpError(400, "invalid_input", err.message);
      }
      throw err;
    }
    // From here to the insert there is no await: concurrent duplicates cannot both insert.
    const hash = bodyHash(job);
    const existing = store.byKey(job.jobKey);
    if (existing) {
      if (existing.bodyHash !== hash) throw new HttpError(422, "job_key_conflict", `jobKey '${job.jobKey}' was used with a different body; use a new jobKey`);
      return { status: 202, jobId: existing.id };
    }
    // Checked again: shutdown may have begun while the body was being read.
    if (draining) throw new HttpError(503, "shutting_down", "the executor is shutting down; retry shortly", { "retry-after": "10" });
    if (!queue.hasRoom()) throw new HttpError(429, "queue_full", "all executors are busy and the queue is full; retry later", { "retry-after": String(queue.retryAfterSeconds()) });
    const jobId = `j-${randomUUID()}`;
    store.insert(jobId, job, hash, new Date().toISOString());
    enqueue(jobId, sides);
    log("info", "job_accepted", { jobId, jobKey: job.jobKey, queued: queue.queued, running: queue.running });
    return { status: 202, jobId };
  }

  function viewOf(jobId: string) {
    const rec = store.get(jobId);
    if (!rec) throw new HttpError(404, "not_found", `no job '${jobId}'`);
    return toView(rec);
  }

  function waitDone(jobId: string): Promise<void> {
    return new Promise((resolve) => {
      const check = (id?: string) => {
        if (id !== undefined && id !== jobId) return;
        const rec = store.get(jobId);
        if (!rec || TERMINAL_JOB_STATUSES.includes(rec.status)) {
          runner.events.off("done", check);
          resolve();
        }
      };
      runner.events.on("done", check);
      check();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://executor");
    if (url.pathname === "/health" && req.method === "GET") {
      send(res, 200, {
        status: draining ? "draining" : "ok",
        version: VERSION,
        uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
        running: queue.running,
        queued: queue.queued,
        capacity: queue.capacity,
        maxQueue: queue.maxQueue,
        clis: deps.clis(),
      });
      return;
    }
    if (!tokenMatches(req.headers["x-auth-token"], config.EXECUTOR_SECRET)) {
      req.resume();
      throw new HttpError(401, "unauthorized", "missing or wrong x-auth-token");
    }
    if (url.pathname === "/jobs" && req.method === "POST") {
      const { jobId } = await submit(req);
      send(res, 202, viewOf(jobId));
      return;
    }
    if (url.pathname === "/execute" && req.method === "POST") {
      const { jobId } = await submit(req);
      await waitDone(jobId);
      send(res, 200, viewOf(jobId));
      return;
    }
    const m = /^\/jobs\/([A-Za-z0-9-]{1,64})$/.exec(url.pathname);
    if (m?.[1] && req.method === "GET") {
      send(res, 200, viewOf(m[1]));
      return;
    }
    throw new HttpError(404, "not_found", `no route ${req.method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err);
      log("error", "request_failed", { error: err instanceof Error ? err.message : String(err) });
      sendError(res, new HttpError(500, "internal", "internal error; see the executor's logs"));
    });
  });
  server.keepAliveTimeout = 5_000;

  return {
    server,
    startDraining() {
      draining = true;
    },
    get draining() {
      return draining;
    },
  };
}
