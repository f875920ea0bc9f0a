import { AppError } from "../../core/errors.ts";
import { errorResponse } from "../errors.ts";
import { hostnameOfHost, isLoopbackHostname, isLoopbackUrl } from "./loopback.ts";
import type { Guard } from "./types.ts";

/**
 * The MCP spec's DNS-rebinding rule for a local server: when the Worker serves on a loopback
 * PUBLIC_URL, a request must name a loopback Host. A page on evil.example whose DNS now points at
 * 127.0.0.1 still sends `Host: evil.example`, and is refused here before any route runs. A deployed
 * Worker is reached through Cloudflare, which routes by Host already, so nothing is checked there.
 */
export const hostGuard: Guard = (request, config) => {
  if (!isLoopbackUrl(config.publicUrl)) return undefined;
  // A Request built in-process (tests) carries no Host header; its URL names the host instead.
  const host = request.headers.get("host") ?? new URL(request.url).host;
  const hostname = hostnameOfHost(host);
  if (hostname !== null && isLoopbackHostname(hostname)) return undefined;
  // `127.0.0.1:28787, evil.com`, a userinfo, a path, a port out of range: not a Host at all.
  if (hostname === null)
    return errorResponse(
      new AppError(
        "bad_host",
        "the Host header must be a host name or address with an optional port, e.g. 127.0.0.1:28787",
      ),
    );
  return errorResponse(
    new AppError(
      "forbidden_host",
      "this server runs on a loopback address and answers only requests addressed to localhost, 127.0.0.1 or [::1]",
    ),
  );
};
