/**
 * CORS for browser-based MCP clients (the MCP Inspector UI, a loopback tool during local dev): only
 * for an Origin the origin guard already allowed, so this adds reach, never trust. The bearer still
 * decides every request; a preflight carries none and is answered before auth, as browsers require.
 */
const ALLOW_HEADERS =
  "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name, last-event-id";
const EXPOSE_HEADERS = "mcp-session-id, mcp-protocol-version, www-authenticate";

export function preflight(request: Request): Response {
  const origin = request.headers.get("origin");
  if (origin === null) return new Response(null, { status: 405, headers: { allow: "POST" } });
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
      "access-control-allow-headers": ALLOW_HEADERS,
      "access-control-max-age": "600",
      vary: "Origin",
    },
  });
}

/** The same response, readable by the (allowed) page that asked. */
export function withCors(request: Request, response: Response): Response {
  const origin = request.headers.get("origin");
  if (origin === null) return response;
  const out = new Response(response.body, response);
  out.headers.set("access-control-allow-origin", origin);
  out.headers.set("access-control-expose-headers", EXPOSE_HEADERS);
  out.headers.append("vary", "Origin");
  return out;
}
