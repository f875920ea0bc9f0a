import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { errorResponse } from "../errors.ts";
import { isLoopbackHostname, isLoopbackUrl } from "./loopback.ts";
import type { Guard } from "./types.ts";

/**
 * Whether a browser Origin may call /mcp and /api: an ALLOWED_ORIGINS entry, the Worker's own
 * PUBLIC_URL origin, or — on a loopback Worker (local dev) — any loopback http(s) origin, so browser
 * tools on this machine (the MCP Inspector UI on another port) can reach the local stack.
 * `null` (sandboxed frames, file: pages) never is.
 */
function originAllowed(origin: string, config: Config): boolean {
  if (origin === "null") return false;
  if (config.allowedOrigins.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // An Origin is scheme://host[:port] and nothing else; reject anything that only parses like one.
  if (url.origin !== origin) return false;
  if (url.origin === new URL(config.publicUrl).origin) return true;
  return (
    isLoopbackUrl(config.publicUrl) &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    isLoopbackHostname(url.hostname)
  );
}

/**
 * DNS-rebinding and cross-site defence for Streamable HTTP: a browser always sends Origin, so a
 * present Origin must be allowed. Servers and CLIs (Claude.ai's backend, Claude Code) send none and
 * go on to auth.
 */
export const originGuard: Guard = (request, config) => {
  const origin = request.headers.get("origin");
  if (origin === null || originAllowed(origin, config)) return undefined;
  return errorResponse(
    new AppError("forbidden_origin", "this Origin is not allowed; call from an allowlisted origin or without one"),
  );
};
