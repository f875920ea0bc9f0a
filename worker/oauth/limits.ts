/**
 * Per-address limits on the OAuth endpoints anyone may call without a token: dynamic registration
 * (each call stores a client) and the authorization page (each call may fetch a metadata document
 * and stores a consent handle). The consent POST has its own, stricter limit (authorize.ts).
 * The Workers rate-limiting binding fits here: a fixed limit, counted per Cloudflare location.
 */
import { log } from "../../core/log.ts";

/** wrangler.toml's OAUTH_LIMITER: this many calls a minute per address and endpoint. */
export const OAUTH_LIMIT_PER_MINUTE = 20;

export interface Limited {
  message: string;
  headers: Headers;
}

/** The caller's address as Cloudflare reports it (`unknown` where nothing does, e.g. in tests). */
export function clientAddress(request: Request): string {
  return request.headers.get("cf-connecting-ip") ?? "unknown";
}

export async function limitedPerAddress(
  env: Env,
  request: Request,
  endpoint: "authorize" | "register",
): Promise<Limited | null> {
  const ip = clientAddress(request);
  const { success } = await env.OAUTH_LIMITER.limit({ key: `${endpoint}:${ip}` });
  if (success) return null;
  log("warn", "oauth_rate_limited", { endpoint, ip });
  return {
    message: `More than ${OAUTH_LIMIT_PER_MINUTE} ${endpoint === "register" ? "registrations" : "sign-in requests"} in a minute from this address. Wait a minute.`,
    headers: new Headers({ "retry-after": "60" }),
  };
}
