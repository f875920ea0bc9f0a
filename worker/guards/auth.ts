import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { errorResponse } from "../errors.ts";
import { oauthSetup, SCOPE, validateAccessToken } from "../oauth/provider.ts";
import { BEARER_CALLER, type Caller } from "../services/admission.ts";

const encoder = new TextEncoder();

/**
 * workerd's constant-time compare. worker-configuration.d.ts declares it, but @types/node (pulled in
 * by the test types) redeclares the global `crypto` without it, hence this one narrow assertion.
 */
const subtle = crypto.subtle as typeof crypto.subtle & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };

/**
 * Constant-time secret check: hash both sides so the compared buffers have the same length whatever
 * the caller sent (timingSafeEqual throws on unequal lengths, and a length check would leak one),
 * then compare the digests with the runtime's constant-time compare.
 */
export async function tokensEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    subtle.digest("SHA-256", encoder.encode(presented)),
    subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return subtle.timingSafeEqual(a, b);
}

function bearerOf(request: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  return match?.[1];
}

/** RFC 6750 §3 challenge; on /mcp it names the RFC 9728 metadata an OAuth client starts from. */
function challenge(resourceMetadataUrl: string | undefined, error?: "invalid_token"): string {
  const parts = ['Bearer realm="vault-mcp"'];
  if (resourceMetadataUrl) parts.push(`resource_metadata="${resourceMetadataUrl}"`, `scope="${SCOPE}"`);
  if (error) parts.push(`error="${error}"`);
  return parts.join(", ");
}

/**
 * Bearer auth, checked before the body is read. Two kinds of token pass: the static
 * VAULT_AUTH_TOKEN (Claude Code, scripts, the ops CLI) on /mcp and /api, and on /mcp an OAuth access
 * token this Worker issued for `<PUBLIC_URL>/mcp` (Claude.ai) carrying the `vault` scope. The token
 * is compared and dropped: nothing the Worker sends (executor jobs, health probes, logs) carries it.
 * Answers who the caller is (the static token, or which OAuth client), or the refusal to send.
 */
export async function authenticate(request: Request, config: Config, env: Env): Promise<Caller | Response> {
  const isMcp = new URL(request.url).pathname === "/mcp";
  const token = bearerOf(request);
  if (token !== undefined && (await tokensEqual(token, config.authToken))) return BEARER_CALLER;
  const metadataUrl = isMcp ? oauthSetup(config).resourceMetadataUrl : undefined;
  if (token !== undefined && isMcp) {
    const granted = await validateAccessToken(env, config, token);
    if (granted?.scope.includes(SCOPE)) return { id: `oauth:${granted.clientId}` };
    if (granted) {
      return errorResponse(
        new AppError("insufficient_scope", `this token lacks the '${SCOPE}' scope; sign in again to grant it`, {
          headers: {
            "www-authenticate": `Bearer realm="vault-mcp", error="insufficient_scope", scope="${SCOPE}", resource_metadata="${metadataUrl}"`,
          },
        }),
      );
    }
  }
  const how = isMcp
    ? "send 'Authorization: Bearer <VAULT_AUTH_TOKEN>' or an OAuth access token from this server (see WWW-Authenticate)"
    : "send 'Authorization: Bearer <VAULT_AUTH_TOKEN>'";
  return errorResponse(
    new AppError("unauthorized", `missing or wrong bearer token; ${how}`, {
      headers: { "www-authenticate": challenge(metadataUrl, token === undefined ? undefined : "invalid_token") },
    }),
  );
}
