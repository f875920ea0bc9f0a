/**
 * Where an OAuth error may be redirected before the owner has seen the consent page. With open
 * dynamic registration anyone can register a client whose redirect URI is their own site; if every
 * failed /authorize request were sent back there, this Worker's address would forward a victim to
 * any site (an open redirector). So before consent an error goes only to a redirect URI we trust:
 * Claude's callbacks, a loopback one (a CLI on this machine, e.g. Claude Code), or one the owner
 * lists in OAUTH_REDIRECT_ALLOW. Any other gets an error page. After consent (Deny) the owner has
 * seen where the answer goes, so that redirect stays.
 */
import type { Config } from "../../core/config.ts";
import { isLoopbackHostname } from "../guards/loopback.ts";

/** Claude.ai's callback, and the claude.com one it may move to. */
export const CLAUDE_CALLBACKS: readonly string[] = [
  "https://claude.ai/api/mcp/auth_callback",
  "https://claude.com/api/mcp/auth_callback",
];

/** An OAUTH_REDIRECT_ALLOW entry matches its exact URI, or, written as an origin, any URI under it. */
function allowedBy(entry: string, uri: URL): boolean {
  if (entry === uri.href) return true;
  try {
    const e = new URL(entry);
    return e.origin === entry.replace(/\/$/, "") && e.origin === uri.origin;
  } catch {
    return false;
  }
}

export function redirectTrusted(redirectUri: string, config: Config): boolean {
  let uri: URL;
  try {
    uri = new URL(redirectUri);
  } catch {
    return false;
  }
  if (CLAUDE_CALLBACKS.includes(uri.href)) return true;
  if ((uri.protocol === "http:" || uri.protocol === "https:") && isLoopbackHostname(uri.hostname)) return true;
  return config.oauthRedirectAllow.some((entry) => allowedBy(entry, uri));
}
