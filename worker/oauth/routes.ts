/**
 * The OAuth surface of the Worker: resource metadata (ours), the consent page (ours), and the
 * library's protocol endpoints (authorization-server metadata, token, revocation, registration).
 * None of them takes the bearer: they are how a client obtains one.
 */
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { sizeGuard } from "../guards/size.ts";
import { handleAuthorize } from "./authorize.ts";
import { resourceMetadataResponse } from "./metadata.ts";
import {
  AS_METADATA_PATH,
  AUTHORIZE_PATH,
  oauthSetup,
  REGISTER_PATH,
  RESOURCE_METADATA_PATH,
  TOKEN_PATH,
} from "./provider.ts";
import { screenRegistration } from "./register.ts";
import { handleToken } from "./token.ts";

const RESOURCE_METADATA_PREFIX = "/.well-known/oauth-protected-resource";

export function isOAuthPath(pathname: string): boolean {
  return (
    pathname === AUTHORIZE_PATH ||
    pathname === TOKEN_PATH ||
    pathname === REGISTER_PATH ||
    pathname === AS_METADATA_PATH ||
    pathname === RESOURCE_METADATA_PREFIX ||
    pathname.startsWith(`${RESOURCE_METADATA_PREFIX}/`)
  );
}

export async function handleOAuth(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === RESOURCE_METADATA_PATH) return resourceMetadataResponse(request, config);
  if (pathname.startsWith(RESOURCE_METADATA_PREFIX))
    throw new AppError(
      "not_found",
      `the protected resource here is /mcp; its metadata is at ${RESOURCE_METADATA_PATH}`,
    );
  const tooLarge = sizeGuard(request, config);
  if (tooLarge) return tooLarge;
  if (pathname === AUTHORIZE_PATH) return handleAuthorize(request, env, config);
  let forward = request;
  if (pathname === REGISTER_PATH && request.method === "POST") {
    const screened = await screenRegistration(request, env);
    if (screened instanceof Response) return screened;
    forward = screened;
  }
  const answer =
    pathname === TOKEN_PATH && request.method === "POST"
      ? await handleToken(request, env, ctx, config)
      : await oauthSetup(config).server.fetch(forward, env, ctx);
  // The library answers only at the issuer's own origin: a request through another host name
  // (a tunnel, localhost instead of 127.0.0.1) must use PUBLIC_URL.
  if (answer.status === 404)
    throw new AppError("not_found", `OAuth is served at PUBLIC_URL (${config.publicUrl}); use that address`);
  return answer;
}
