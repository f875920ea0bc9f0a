/**
 * The executor's HTTP API (node:http, JSON, WireError bodies), wired here; each route's handler is in
 * routes/:
 *   POST /jobs      → 202 JobView, idempotent by jobKey          (routes/jobs.ts, routes/submit.ts)
 *   POST /execute   → like /jobs, answers 200 with the finished JobView (curl, scripts)
 *   GET  /jobs/:id  → JobView
 *   POST /jobs/:id/deliver, POST /jobs/:id/discard, GET /jobs/:id/diff  (routes/delivery.ts)
 *   GET  /health    → open: the contract's ExecutorHealth        (routes/health.ts)
 * Every route but /health needs `x-auth-token`, checked from the headers before any byte of the body
 * is read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { log } from "../log.ts";
import { tokenMatches } from "./auth.ts";
import { HttpError, sendError } from "./http.ts";
import type { AppDeps, RouteContext } from "./routes/context.ts";
import { JOB_ACTIONS, type JobAction, jobAction } from "./routes/delivery.ts";
import { getHealth } from "./routes/health.ts";
import { getJob, postExecute, postJob } from "./routes/jobs.ts";

export interface App {
  server: Server;
  /** 503 for new jobs from now on. */
  startDraining(): void;
  readonly draining: boolean;
}

const methodNotAllowed = (method: string, route: string) =>
  new HttpError(405, "method_not_allowed", `use ${method} ${route}`, { allow: method });

async function route(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://executor");
  const { pathname } = url;
  if (pathname === "/health") {
    if (req.method !== "GET") throw methodNotAllowed("GET", "/health");
    return getHealth(ctx, res);
  }
  if (!tokenMatches(req.headers["x-auth-token"], ctx.config.EXECUTOR_SECRET))
    throw new HttpError(401, "unauthorized", "missing or wrong x-auth-token");
  if (pathname === "/jobs" || pathname === "/execute") {
    if (req.method !== "POST") throw methodNotAllowed("POST", pathname);
    return pathname === "/jobs" ? postJob(ctx, req, res) : postExecute(ctx, req, res);
  }
  const action = /^\/jobs\/([^/]{1,200})\/([a-z]+)$/.exec(pathname);
  if (action?.[1] && JOB_ACTIONS.includes(action[2] as JobAction))
    return jobAction(ctx, req, res, { jobId: decodeURIComponent(action[1]), action: action[2] as JobAction, url });
  const m = /^\/jobs\/([^/]{1,200})$/.exec(pathname);
  if (m?.[1]) {
    if (req.method !== "GET") throw methodNotAllowed("GET", "/jobs/:id");
    return getJob(ctx, res, decodeURIComponent(m[1]));
  }
  throw new HttpError(
    404,
    "not_found",
    `no route ${req.method ?? ""} ${pathname}; the routes are POST /jobs, GET /jobs/:id, POST /jobs/:id/deliver, POST /jobs/:id/discard, GET /jobs/:id/diff, POST /execute, GET /health`,
  );
}

export function createApp(deps: AppDeps): App {
  let draining = false;
  const ctx: RouteContext = { ...deps, now: deps.now ?? (() => new Date()), draining: () => draining };

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
    route(ctx, req, res).catch((err: unknown) => {
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
