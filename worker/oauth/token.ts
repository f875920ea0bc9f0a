/**
 * The token endpoint, with refresh-token reuse detection (RFC 9700 §4.14.2). The library rotates
 * refresh tokens but keeps the previous one valid until its successor is used, so a stolen token
 * that the owner had already used kept working for the thief, and the thief's use killed the
 * owner's. Here a refresh token works once: after the library accepts it, its hash is remembered,
 * and presenting it again revokes the whole grant (every token of it, the thief's and the owner's).
 * The owner then signs in again; a client that lost a refresh answer does too.
 */
import type { Config } from "../../core/config.ts";
import { log } from "../../core/log.ts";
import { readBodyText } from "../http.ts";
import { GRANT_TTL_S, oauthSetup } from "./provider.ts";

/** Our own keys in OAUTH_KV, beside the library's (it lists only its own prefixes). */
const USED_PREFIX = "vault:used-refresh:";
const MAX_TOKEN_FORM_BYTES = 64 * 1024;

interface UsedRefresh {
  userId: string;
  grantId: string;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function tokenError(description: string): Response {
  return Response.json(
    { error: "invalid_grant", error_description: description },
    { status: 400, headers: { "cache-control": "no-store" } },
  );
}

/**
 * A token request read once: the refresh token it presents (null for another grant type or body),
 * and the request rebuilt from the text for the library.
 */
async function readTokenRequest(request: Request): Promise<{ refresh: string | null; forward: Request }> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get("content-type") ?? ""))
    return { refresh: null, forward: request };
  const text = await readBodyText(request, MAX_TOKEN_FORM_BYTES);
  const form = new URLSearchParams(text);
  const refresh = form.get("grant_type") === "refresh_token" ? form.get("refresh_token") : null;
  return { refresh, forward: new Request(request.url, { method: "POST", headers: request.headers, body: text }) };
}

export async function handleToken(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
): Promise<Response> {
  const { server } = oauthSetup(config);
  const { refresh, forward } = await readTokenRequest(request);
  if (refresh === null) return server.fetch(forward, env, ctx);
  const key = `${USED_PREFIX}${await sha256Hex(refresh)}`;
  const used = await env.OAUTH_KV.get<UsedRefresh>(key, "json");
  if (used) {
    await server.getOAuthApi(env).revokeGrant(used.grantId, used.userId);
    log("warn", "oauth_refresh_reused", { grantId: used.grantId });
    return tokenError("this refresh token was already used, so the grant is revoked; sign in again");
  }
  const answer = await server.fetch(forward, env, ctx);
  // Tokens are `<userId>:<grantId>:<secret>`; the library has just accepted this one.
  const [userId, grantId] = refresh.split(":");
  if (answer.ok && userId && grantId) {
    const record: UsedRefresh = { userId, grantId };
    await env.OAUTH_KV.put(key, JSON.stringify(record), { expirationTtl: GRANT_TTL_S });
  }
  return answer;
}
