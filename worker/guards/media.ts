import { AppError } from "../../core/errors.ts";
import { errorResponse } from "../errors.ts";
import type { Guard } from "./types.ts";

/** `application/json` with optional parameters (`; charset=utf-8`), compared as a media type, not a substring. */
function isJsonType(contentType: string | null): boolean {
  return /^application\/json\s*(;.*)?$/i.test((contentType ?? "").trim());
}

/** True when the request declares or streams a body (a chunked body has no Content-Length). */
function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  return length === null ? request.body !== null : Number(length) > 0;
}

/**
 * Content negotiation before any parsing. POST /mcp must accept both JSON and SSE (Streamable HTTP:
 * the answer is one or the other) → else 406, and send JSON → else 415. A REST body must be JSON → 415.
 * Other methods on /mcp are left to the handler's 405.
 */
export const mediaGuard: Guard = (request) => {
  const isMcp = new URL(request.url).pathname === "/mcp";
  if (isMcp && request.method !== "POST") return undefined;
  if (isMcp) {
    // Both listed literally, as the MCP SDK's own check requires (a wildcard would pass here and fail there).
    const accept = (request.headers.get("accept") ?? "").toLowerCase();
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return errorResponse(
        new AppError("not_acceptable", "send 'Accept: application/json, text/event-stream' (MCP Streamable HTTP)"),
      );
    }
  }
  if ((isMcp || hasBody(request)) && !isJsonType(request.headers.get("content-type"))) {
    return errorResponse(
      new AppError("unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'"),
    );
  }
  return undefined;
};
