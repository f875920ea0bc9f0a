/**
 * Client ID Metadata Documents the Worker fetches during the workerd tests (vitest.workers.config.ts
 * serves them through Miniflare's outbound service, as their HTTPS hosts would). The Claude one has
 * the shape Claude.ai publishes: its URL is its client id, it authenticates with `none` (PKCE), and
 * it redirects to claude.ai or claude.com.
 */
export const CLAUDE_CLIENT_ID = "https://claude.ai/oauth/mcp-oauth-client-metadata";
export const CLAUDE_REDIRECT = "https://claude.ai/api/mcp/auth_callback";

export const CIMD_DOCUMENTS: Record<string, Record<string, unknown>> = {
  [CLAUDE_CLIENT_ID]: {
    client_id: CLAUDE_CLIENT_ID,
    client_name: "Claude",
    client_uri: "https://claude.ai",
    redirect_uris: [CLAUDE_REDIRECT, "https://claude.com/api/mcp/auth_callback"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  },
};
