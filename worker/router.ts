import { handleApi } from "./api/routes.ts";
import { handleCallback } from "./callback.ts";
import { getConfig } from "./config.ts";
import { errorResponse } from "./errors.ts";
import { authGuard } from "./guards/auth.ts";
import { originGuard } from "./guards/origin.ts";
import { sizeGuard } from "./guards/size.ts";
import { runGuards } from "./guards/types.ts";
import { handleMcp } from "./mcp/server.ts";
import { health } from "./services/health.ts";

const CALLBACK = /^\/api\/callback\/([^/]+)$/;

/** origin → auth → size → handler on /mcp and /api; /health is open; the callback checks its HMAC. */
export async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  try {
    const url = new URL(request.url);
    const config = getConfig(env);
    if (url.pathname === "/health") {
      if (request.method !== "GET" && request.method !== "HEAD") return new Response(null, { status: 405, headers: { allow: "GET" } });
      const h = await health(env, config, Date.now());
      return Response.json(h, { status: h.status === "ok" ? 200 : 503, headers: { "cache-control": "no-store" } });
    }
    const callback = CALLBACK.exec(url.pathname);
    if (callback?.[1] && request.method === "POST") return handleCallback(request, env, callback[1]);
    const isMcp = url.pathname === "/mcp";
    if (isMcp || url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      const stop = await runGuards(request, config, [originGuard, authGuard, sizeGuard]);
      if (stop) return stop;
      return isMcp ? await handleMcp(request, env, ctx, config) : await handleApi(request, env, ctx, config);
    }
    return Response.json({ error: { code: "not_found", message: `no route ${request.method} ${url.pathname}; the MCP endpoint is POST /mcp` } }, { status: 404 });
  } catch (err) {
    return errorResponse(err);
  }
}
