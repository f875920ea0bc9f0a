/**
 * The OAuth 2.1 authorization server Claude.ai signs in through (`@cloudflare/workers-oauth-provider`,
 * role-based API): issuer = PUBLIC_URL, one protected resource = `<PUBLIC_URL>/mcp`. The library owns
 * the protocol endpoints (RFC 8414 metadata, token with PKCE S256 and refresh rotation, revocation,
 * RFC 7591 registration, Client ID Metadata Documents) and stores tokens and codes only as hashes in
 * OAUTH_KV; this Worker owns the consent page (authorize.ts) and the resource metadata (metadata.ts).
 */
import { OAuthAuthorizationServer, type ValidatedAccessToken } from "@cloudflare/workers-oauth-provider";
import type { Config } from "../../core/config.ts";
import { ConfigError, describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";

/** The one scope: every vault-mcp tool. One owner, so finer scopes would only add prompts. */
export const SCOPE = "vault";
/** The only user: whoever knows OWNER_SECRET. */
export const OWNER = "owner";

export const AUTHORIZE_PATH = "/authorize";
export const TOKEN_PATH = "/oauth/token";
export const REGISTER_PATH = "/oauth/register";
export const AS_METADATA_PATH = "/.well-known/oauth-authorization-server";
export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource/mcp";

/**
 * A day per access token: Claude.ai has been seen re-prompting hourly with short-lived tokens, and
 * a refresh a day costs nothing. Grants live 90 days and slide 30 days past each refresh, so a
 * connector in use never asks again, and an abandoned one stops working within a month.
 */
const ACCESS_TOKEN_TTL_S = 24 * 3600;
export const GRANT_TTL_S = 90 * 24 * 3600;
const GRANT_IDLE_TTL_S = 30 * 24 * 3600;

export interface OAuthSetup {
  server: OAuthAuthorizationServer<Env>;
  /** PUBLIC_URL: the issuer identifier. */
  issuer: string;
  /** `<PUBLIC_URL>/mcp`: the resource and the only audience a token is accepted for. */
  resource: string;
  /** Where the RFC 9728 metadata of `resource` lives, named in every 401 from /mcp. */
  resourceMetadataUrl: string;
}

const setups = new Map<string, OAuthSetup>();

/** One authorization server per PUBLIC_URL (the options are fixed at construction). */
export function oauthSetup(config: Config): OAuthSetup {
  const hit = setups.get(config.publicUrl);
  if (hit) return hit;
  const issuer = config.publicUrl;
  const resource = `${issuer}/mcp`;
  let server: OAuthAuthorizationServer<Env>;
  try {
    server = buildServer(issuer, resource);
  } catch (err) {
    // The library refuses an issuer that is neither https nor loopback http at construction.
    throw new ConfigError(`PUBLIC_URL cannot be an OAuth issuer (https, or http on a loopback host): ${describe(err)}`);
  }
  const setup: OAuthSetup = {
    server,
    issuer,
    resource,
    resourceMetadataUrl: `${issuer}${RESOURCE_METADATA_PATH}`,
  };
  setups.set(config.publicUrl, setup);
  return setup;
}

function buildServer(issuer: string, resource: string): OAuthAuthorizationServer<Env> {
  return new OAuthAuthorizationServer<Env>({
    issuer,
    resources: [resource],
    authorizeEndpoint: AUTHORIZE_PATH,
    tokenEndpoint: TOKEN_PATH,
    // DCR stays on beside CIMD: Claude.ai's metadata document has been unreachable from datacenters
    // (a challenge page, a 404), and a client then falls back to registering.
    clientRegistrationEndpoint: REGISTER_PATH,
    clientIdMetadataDocumentEnabled: true,
    scopesSupported: [SCOPE],
    accessTokenTTL: ACCESS_TOKEN_TTL_S,
    refreshTokenTTL: GRANT_TTL_S,
    refreshTokenIdleTTL: GRANT_IDLE_TTL_S,
    onError: ({ code, description, status, internal }) => {
      // The wire keeps the library's generic answer; the log gets which check failed.
      log("warn", "oauth_error", { code, description, status, internal });
    },
  });
}

/**
 * An access token issued by this server for `<PUBLIC_URL>/mcp`, or null: unknown, expired, revoked,
 * or minted for another audience (the library checks the audience against the resource we name).
 */
export function validateAccessToken(env: Env, config: Config, token: string): Promise<ValidatedAccessToken | null> {
  const { server, resource } = oauthSetup(config);
  return server.validateToken(resource, token, env);
}
