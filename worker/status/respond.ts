/**
 * How every /status answer is sent. Pages: our own script and style files only (no inline script or
 * style, no third-party origin), never framed, never cached, never sniffed. The diagram frame is the
 * one exception, and only for style: Mermaid writes a <style> element and style attributes into the
 * SVG it draws, so the frame allows inline style (never inline script) and is sandboxed without
 * same-origin (no cookies, no access to the page around it).
 */
import type { JSX } from "hono/jsx/jsx-runtime";

export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const DIAGRAM_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join("; ");

function securityHeaders(csp: string, headers: Headers): Headers {
  headers.set("content-security-policy", csp);
  headers.set("cache-control", "no-store");
  headers.set("x-content-type-options", "nosniff");
  // Forms post our Origin (a no-referrer policy would send `null`); no URL leaves the site.
  headers.set("referrer-policy", "same-origin");
  headers.set("cross-origin-opener-policy", "same-origin");
  return headers;
}

/** Renders a hono/jsx tree (sync or with async parts) to a string. */
export async function render(element: JSX.Element): Promise<string> {
  return (await element).toString();
}

export async function htmlResponse(
  element: JSX.Element,
  init: { status?: number; headers?: HeadersInit; csp?: string } = {},
): Promise<Response> {
  const headers = securityHeaders(init.csp ?? PAGE_CSP, new Headers(init.headers));
  headers.set("content-type", "text/html; charset=utf-8");
  return new Response(`<!doctype html>${await render(element)}`, { status: init.status ?? 200, headers });
}

/** A fragment for the page's own script (no doctype; same headers). */
export async function fragmentResponse(element: JSX.Element, headers: HeadersInit = {}): Promise<Response> {
  const h = securityHeaders(PAGE_CSP, new Headers(headers));
  h.set("content-type", "text/html; charset=utf-8");
  return new Response(await render(element), { status: 200, headers: h });
}

/** 303 See Other: after a form POST the browser GETs the next page. */
export function seeOther(location: string, headers: HeadersInit = {}): Response {
  const h = securityHeaders(PAGE_CSP, new Headers(headers));
  h.set("location", location);
  return new Response(null, { status: 303, headers: h });
}
