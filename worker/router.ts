import type { HealthView } from "@vault-mcp/contract";
import { getConfig } from "../core/config.ts";
import { AppError, ConfigError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { handleApi } from "./api/routes.ts";
import { handleCallback } from "./callback.ts";
import { errorResponse } from "./errors.ts";
import { authGuard } from "./guards/auth.ts";
import { mediaGuard } from "./guards/media.ts";
import { originGuard } from "./guards/origin.ts";
import { sizeGuard } from "./guards/size.ts";
import { handleMcp } from "./mcp/server.ts";
import { health, misconfigured } from "./services/health.ts";

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
 * /mcp and /api: origin → auth → size → media → handler, composed with `??` so the first guard that
 * answers stops the request before anything later (auth before any parsing). /health is open; the
 * executor's callback carries its own HMAC instead of the bearer.
 */
export async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  try {
    const url = new URL(request.url);
    if (url.pathname === "/health") return await healthResponse(request, env);
    const config = getConfig(env);
    const callback = CALLBACK.exec(url.pathname);
    if (callback?.[1] && request.method === "POST") return await handleCallback(request, env, callback[1]);
    const isMcp = url.pathname === "/mcp";
    if (isMcp || url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      return (
        originGuard(request, config) ??
        (await authGuard(request, config)) ??
        sizeGuard(request, config) ??
        mediaGuard(request, config) ??
        (isMcp ? await handleMcp(request, env, ctx, config) : await handleApi(request, env, ctx, config))
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
