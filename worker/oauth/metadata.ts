/**
 * RFC 9728 protected-resource metadata for `/mcp`, at the path-inserted well-known URL only: the
 * document's `resource` must equal the URL it was found from (RFC 9728 §3.3), so the bare
 * `/.well-known/oauth-protected-resource` is not an alias for it.
 */
import type { Config } from "../../core/config.ts";
import { oauthSetup, SCOPE } from "./provider.ts";

function resourceMetadata(config: Config): Record<string, unknown> {
  const { issuer, resource } = oauthSetup(config);
  return {
    resource,
    authorization_servers: [issuer],
    // What a client should ask for first; the consent page grants exactly this.
    scopes_supported: [SCOPE],
    bearer_methods_supported: ["header"],
    resource_name: "vault-mcp",
  };
}

/** GET/HEAD answer it (readable cross-origin: browser-based MCP clients discover it too). */
export function resourceMetadataResponse(request: Request, config: Config): Response {
  const headers = { "access-control-allow-origin": "*", "cache-control": "max-age=3600" };
  if (request.method === "OPTIONS")
    return new Response(null, {
      status: 204,
      headers: { ...headers, "access-control-allow-methods": "GET, HEAD, OPTIONS", "access-control-max-age": "86400" },
    });
  if (request.method !== "GET" && request.method !== "HEAD")
    return new Response(null, { status: 405, headers: { allow: "GET, HEAD, OPTIONS" } });
  const body = request.method === "HEAD" ? null : JSON.stringify(resourceMetadata(config));
  return new Response(body, { headers: { ...headers, "content-type": "application/json" } });
}
