/**
 * The executor's HTTP API (node:http, JSON, WireError bodies):
 *   POST /jobs      → 202 JobView, idempotent by jobKey
 *   POST /execute   → like /jobs, answers 200 with the finished JobView (curl, scripts)
 *   GET  /jobs/:id  → JobView
 *   POST /jobs/:id/deliver, POST /jobs/:id/discard, GET /jobs/:id/diff → job-routes.ts
 *   GET  /health    → open: the contract's ExecutorHealth (readiness per profile, CLIs, queue, disk)
 * Every route but /health needs `x-auth-token`, checked from the headers before any byte of the body
 * is read. Order for a new job: draining → body (415/413/400) → schema (400) → profile and repo (400)
 * → idempotency and admission, synchronously (422/429/503) → queue.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  type CliName,
  type DiskUse,
  type ExecutorHealth,
  JobRequest,
  type JobView,
  MAX_PROMPT_CHARS,
  type RepoSource,
  TERMINAL_JOB_STATUSES,
} from "@vault-mcp/contract";
import type { ExecutorConfig } from "../config.ts";
import { type CliInfo, healthStatus, VERSION } from "../health.ts";
import { admit } from "../jobs/idempotency.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { type JobStore, toView } from "../jobs/store.ts";
import { log } from "../log.ts";
import { ProfileError } from "../profiles.ts";
import type { JobQueue } from "../queue.ts";
import type { Readiness } from "../readiness.ts";
import { SANDBOX_OFF, type SandboxStatus } from "../sandbox/sandbox.ts";
import { tokenMatches } from "./auth.ts";
import { HttpError, readJson, send, sendError } from "./http.ts";
import { handleJobAction, JOB_ACTIONS, type JobAction, type JobRoutesDeps } from "./job-routes.ts";
import { describeIssues } from "./validation.ts";

export interface AppDeps {
  config: Pick<ExecutorConfig, "EXECUTOR_SECRET" | "MAX_BODY_BYTES">;
  store: JobStore;
  queue: JobQueue;
  runner: JobRunner;
  /**
   * Refuses a repo the worktree manager would refuse (or, with a source, a name taken by a repo
   * placed by hand), so the caller gets a 400, not a failed job.
   */
  checkRepo?: (repo: string, source: RepoSource | undefined) => Promise<unknown>;
  /** The repos a job may name, listed in that refusal. */
  repos?: () => Promise<string[]>;
  /** Each profile's readiness, now. */
  readiness: () => Readiness;
  /** The profile a direct run uses per CLI. */
  direct: Readonly<Record<CliName, string>>;
  /** The last disk measurement (null before the first). */
  disk: () => DiskUse | null;
  /** Aborted at shutdown when the grace is over: kills the running CLIs. */
  jobSignal: AbortSignal;
  clis: () => Record<CliName, CliInfo> | null;
  /** The agent sandbox's state (sandbox/sandbox.ts). */
  sandbox?: () => SandboxStatus;
  startedAt: number;
  now?: () => Date;
  /** Deliver, discard and diff (job-routes.ts); absent: those routes answer 404. */
  jobRoutes?: Omit<JobRoutesDeps, "config" | "store">;
}

export interface App {
  server: Server;
  /** 503 for new jobs from now on. */
  startDraining(): void;
  readonly draining: boolean;
}

/** Caller mistakes the worktree manager reports (see worktree/errors.ts). */
const REPO_ERROR_CODES = new Set(["repo_not_allowed", "repo_not_found"]);

const shuttingDown = () =>
  new HttpError(503, "shutting_down", "the executor is shutting down; retry in a few seconds", { "retry-after": "10" });

export function createApp(deps: AppDeps): App {
  const { config, store, queue, runner } = deps;
  const now = deps.now ?? (() => new Date());
  let draining = false;

  async function submit(req: IncomingMessage): Promise<string> {
    if (draining) throw shuttingDown();
    const parsed = JobRequest.safeParse(
      await readJson(
        req,
        config.MAX_BODY_BYTES,
        `a job takes at most ${config.MAX_BODY_BYTES} bytes of JSON, which holds any valid job (a prompt is at most ${MAX_PROMPT_CHARS} characters); shorten the prompt`,
      ),
    );
    if (!parsed.success)
      throw new HttpError(400, "invalid_input", `invalid job: ${describeIssues(parsed.error.issues)}`);
    const job = parsed.data;
    let slots: number;
    try {
      slots = runner.sidesFor(job).length;
      await deps.checkRepo?.(job.repo, job.source);
    } catch (err) {
      const code = err instanceof Error && "code" in err ? String(err.code) : "";
      if (REPO_ERROR_CODES.has(code)) {
        const names = (await deps.repos?.().catch(() => [])) ?? [];
        const has = names.length > 0 ? `this executor has: ${names.join(", ")}` : "this executor has no repository yet";
        throw new HttpError(400, "repo_not_allowed", `invalid job: ${(err as Error).message}; ${has}`);
      }
      if (err instanceof ProfileError) throw new HttpError(400, "invalid_input", `invalid job: ${err.message}`);
      throw err;
    }
    // No await from here to the enqueue: concurrent duplicates cannot both insert (jobs/idempotency.ts).
    const a = admit(store, job, {
      newId: () => `j-${randomUUID()}`,
      now,
      gate: () => (draining ? "draining" : queue.hasRoom() ? null : "queue_full"),
    });
    switch (a.kind) {
      case "existing":
        return a.jobId;
      case "conflict":
        throw new HttpError(
          422,
          "job_key_conflict",
          `jobKey '${job.jobKey}' was already used with a different body; send the same body again or use a new jobKey`,
        );
      case "refused":
        if (a.reason === "draining") throw shuttingDown();
        throw new HttpError(
          429,
          "queue_full",
          "all executors are busy and the queue is full; retry after the Retry-After seconds",
          { "retry-after": String(queue.retryAfterSeconds()) },
        );
      case "created": {
        const accepted = queue.submit({ id: a.jobId, slots, run: () => runner.run(a.jobId, deps.jobSignal) });
        // hasRoom() was true a moment ago with no await in between, so this cannot happen; if it
        // ever does, the job must not sit `queued` forever.
        if (!accepted) {
          runner.interrupt(a.jobId);
          throw new HttpError(429, "queue_full", "the queue is full; retry later", {
            "retry-after": String(queue.retryAfterSeconds()),
          });
        }
        log("info", "job_accepted", {
          jobId: a.jobId,
          jobKey: job.jobKey,
          queued: queue.queued,
          running: queue.running,
        });
        return a.jobId;
      }
    }
  }

  function viewOf(jobId: string): JobView {
    const rec = store.get(jobId);
    if (!rec) throw new HttpError(404, "not_found", `no job '${jobId}' on this executor`);
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

  function health(): ExecutorHealth & { sandbox: SandboxStatus } {
    const ready = deps.readiness();
    return {
      ...healthStatus(draining, ready.profiles),
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      running: queue.running,
      queued: queue.queued,
      capacity: queue.capacity,
      maxQueue: queue.maxQueue,
      clis: deps.clis(),
      profiles: ready.profiles,
      consensus: ready.consensus,
      direct: { ...deps.direct },
      disk: deps.disk(),
      sandbox: deps.sandbox?.() ?? SANDBOX_OFF,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://executor");
    const { pathname } = url;
    if (pathname === "/health") {
      if (req.method !== "GET") throw new HttpError(405, "method_not_allowed", "use GET /health", { allow: "GET" });
      return send(res, 200, health());
    }
    if (!tokenMatches(req.headers["x-auth-token"], config.EXECUTOR_SECRET))
      throw new HttpError(401, "unauthorized", "missing or wrong x-auth-token");
    if (pathname === "/jobs" || pathname === "/execute") {
      if (req.method !== "POST")
        throw new HttpError(405, "method_not_allowed", `use POST ${pathname}`, { allow: "POST" });
      const jobId = await submit(req);
      if (pathname === "/jobs") return send(res, 202, viewOf(jobId));
      await waitDone(jobId);
      return send(res, 200, viewOf(jobId));
    }
    const action = /^\/jobs\/([^/]{1,200})\/([a-z]+)$/.exec(pathname);
    if (action?.[1] && deps.jobRoutes && JOB_ACTIONS.includes(action[2] as JobAction)) {
      const routes = { ...deps.jobRoutes, config, store };
      return handleJobAction(req, res, routes, decodeURIComponent(action[1]), action[2] as JobAction, url);
    }
    const m = /^\/jobs\/([^/]{1,200})$/.exec(pathname);
    if (m?.[1]) {
      if (req.method !== "GET") throw new HttpError(405, "method_not_allowed", "use GET /jobs/:id", { allow: "GET" });
      return send(res, 200, viewOf(decodeURIComponent(m[1])));
    }
    throw new HttpError(
      404,
      "not_found",
      `no route ${req.method ?? ""} ${pathname}; the routes are POST /jobs, GET /jobs/:id, POST /jobs/:id/deliver, POST /jobs/:id/discard, GET /jobs/:id/diff, POST /execute, GET /health`,
    );
  }

  const server = createServer((req, res) => {
    const t0 = performance.now();
    res.once("finish", () =>
      log("debug", "http_request", {
        method: req.method,
        path: req.url?.split("?")[0],
        status: res.statusCode,
        ms: Math.round(performance.now() - t0),
      }),
    );
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(req, res, err);
      if (err instanceof URIError) return sendError(req, res, new HttpError(404, "not_found", "no such job"));
      log("error", "request_failed", { error: err instanceof Error ? err.message : String(err) });
      sendError(req, res, new HttpError(500, "internal", "internal error; see the executor's logs"));
    });
  });
  // Idle keep-alive sockets go quickly: shutdown closes whatever is left once no job runs.
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
