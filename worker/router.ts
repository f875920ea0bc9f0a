import type { HealthView } from "@vault-mcp/contract";
import { getConfig } from "../core/config.ts";
import { AppError, ConfigError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { handleApi } from "./api/routes.ts";
import { handleCallback } from "./callback.ts";
import { preflight, withCors } from "./cors.ts";
import { errorResponse } from "./errors.ts";
import { authenticate } from "./guards/auth.ts";
import { hostGuard } from "./guards/host.ts";
import { mediaGuard } from "./guards/media.ts";
import { originGuard } from "./guards/origin.ts";
import { sizeGuard } from "./guards/size.ts";
import { handleMcp } from "./mcp/server.ts";
import { handleOAuth, isOAuthPath } from "./oauth/routes.ts";
import { health, misconfigured } from "./services/health.ts";
import { handleStatus, isStatusPath } from "./status/routes.tsx";

const CALLBACK = /^\/api\/callback\/([^/]+)$/;

/** Open, and still an answer when the config is broken: then it says which variable to fix. */
async function healthResponse(request: Request, env: Env): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD")
    return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
  let h: HealthView;
  try {
    h = await health(env, getConfig(env), Date.now());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log("error", "config_invalid", { message: err.message });
    h = misconfigured(err, Date.now());
  }
  return Response.json(h, { status: h.status === "ok" ? 200 : 503, headers: { "cache-control": "no-store" } });
}

/**
 * /health reads the config itself (it still answers, naming the variable to fix, when the config is
 * broken); the Host rule applies to it whenever the config, and so PUBLIC_URL, is readable.
 */
function hostGuardIfConfigured(request: Request, env: Env): Response | undefined {
  try {
    return hostGuard(request, getConfig(env));
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

/**
 * Host first (on a loopback Worker, a non-loopback Host is a DNS-rebinding attempt, refused on
 * every route). Then /mcp and /api: origin → auth → size → media → handler, composed with `??` so
 * the first guard that answers stops the request before anything later (auth before any parsing).
 * /health is open; the OAuth endpoints are how a client gets a token, so they take none; the
 * executor's callback carries its own HMAC instead of the bearer.
 */
export async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  try {
    const url = new URL(request.url);
    if (url.pathname === "/health") return hostGuardIfConfigured(request, env) ?? (await healthResponse(request, env));
    const config = getConfig(env);
    const wrongHost = hostGuard(request, config);
    if (wrongHost) return wrongHost;
    const callback = CALLBACK.exec(url.pathname);
    if (callback?.[1] && request.method === "POST") return await handleCallback(request, env, callback[1]);
    if (isOAuthPath(url.pathname)) return await handleOAuth(request, env, ctx, config);
    // The owner's status pages carry their own sign-in (a session cookie) and CSRF checks.
    if (isStatusPath(url.pathname)) return await handleStatus(request, env, ctx, config);
    const isMcp = url.pathname === "/mcp";
    if (isMcp || url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      const refused = originGuard(request, config);
      if (refused) return refused;
      if (request.method === "OPTIONS") return preflight(request);
      const caller = await authenticate(request, config, env);
      if (caller instanceof Response) return withCors(request, caller);
      return withCors(
        request,
        sizeGuard(request, config) ??
          mediaGuard(request, config) ??
          (isMcp
            ? await handleMcp(request, env, ctx, config, caller)
            : await handleApi(request, env, ctx, config, caller)),
      );
    }
    throw new AppError(
      "not_found",
      `no route ${request.method} ${url.pathname}; the MCP endpoint is POST /mcp, REST is under /api (docs/API.md)`,
    );
  } catch (err) {
    return errorResponse(err);
  }
}
