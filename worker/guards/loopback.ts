/**
 * Loopback addresses as the MCP transport rules name them: `localhost`, 127.0.0.0/8 and `[::1]`.
 * A Worker whose PUBLIC_URL is one of them is a local dev server, which browsers on this machine
 * can reach through any DNS name that resolves to it (DNS rebinding), hence the stricter rules.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "[::1]" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The hostname of a Host header value (`127.0.0.1:28787`, `[::1]:8787`), or null when it is not one. */
export function hostnameOfHost(host: string): string | null {
  // Only a host and an optional port: anything else (userinfo, a path) would let URL parsing pick
  // a hostname the sender did not mean.
  if (!/^[A-Za-z0-9.\-[\]:]+$/.test(host)) return null;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return null;
  }
}

export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHostname(new URL(url).hostname);
  } catch {
    return false;
  }
}
