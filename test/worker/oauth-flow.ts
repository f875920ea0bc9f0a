/**
 * An OAuth client's side of the sign-in, as Claude.ai does it: discovery, registration (DCR) or a
 * metadata-document client id (CIMD), the authorization URL with PKCE, the consent form as a browser
 * would post it (cookie + handle), and the code exchange. The protocol steps are the MCP SDK v2
 * client's own functions; only the browser is played by hand, with the fetches a browser would make.
 */
import {
  type AuthorizationServerMetadata,
  discoverOAuthServerInfo,
  exchangeAuthorization,
  type OAuthClientInformationMixed,
  type OAuthTokens,
  registerClient,
  startAuthorization,
} from "@modelcontextprotocol/client";
import { expect } from "vitest";
import { PUBLIC_URL, workerFetch } from "./mcp-client.ts";

export const OWNER_SECRET = "test-owner-secret-0123";
export const RESOURCE = `${PUBLIC_URL}/mcp`;
export const fetchFn = workerFetch();

export async function discover(): Promise<AuthorizationServerMetadata> {
  const info = await discoverOAuthServerInfo(RESOURCE, { fetchFn });
  if (!info.authorizationServerMetadata) throw new Error("no authorization server metadata");
  return info.authorizationServerMetadata;
}

/** fetch into the Worker from one client address (`cf-connecting-ip`), as Cloudflare reports it. */
export function fromAddress(ip: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set("cf-connecting-ip", ip);
    return fetchFn(url, { ...init, headers });
  };
}

/** Registers a client (DCR); with `ip`, from that address (registration is limited per address). */
export async function registerDcr(
  metadata: AuthorizationServerMetadata,
  redirect = "https://client.example/callback",
  ip?: string,
): Promise<OAuthClientInformationMixed> {
  return registerClient(PUBLIC_URL, {
    metadata,
    clientMetadata: {
      client_name: "Test <b>DCR</b> client",
      redirect_uris: [redirect],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    fetchFn: ip === undefined ? fetchFn : fromAddress(ip),
  });
}

export interface Consent {
  status: number;
  html: string;
  /** The consent cookie as a browser would send it back (`name=value`). */
  cookie: string;
  handle: string;
  query: string;
  codeVerifier: string;
}

/** GET /authorize as the browser Claude opens: the consent page, its one-time handle and cookie. */
export async function openConsent(
  metadata: AuthorizationServerMetadata,
  clientInformation: OAuthClientInformationMixed,
  redirectUrl: string,
  ip: string,
): Promise<Consent> {
  const { authorizationUrl, codeVerifier } = await startAuthorization(PUBLIC_URL, {
    metadata,
    clientInformation,
    redirectUrl,
    scope: "vault",
    state: "state-123",
    resource: RESOURCE,
  });
  const page = await fetchFn(authorizationUrl, { headers: { "cf-connecting-ip": ip } });
  const html = await page.text();
  const cookie = (page.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const handle = /name="handle" value="([^"]*)"/.exec(html)?.[1] ?? "";
  return { status: page.status, html, cookie, handle, query: authorizationUrl.search.slice(1), codeVerifier };
}

/** POST the consent form the way the browser would (same origin, the consent cookie). */
export function submitConsent(
  consent: Consent,
  fields: { decision: "allow" | "deny"; secret?: string },
  ip: string,
): Promise<Response> {
  return fetchFn(`${PUBLIC_URL}/authorize`, {
    method: "POST",
    redirect: "manual",
    headers: {
      cookie: consent.cookie,
      origin: PUBLIC_URL,
      "content-type": "application/x-www-form-urlencoded",
      "cf-connecting-ip": ip,
    },
    body: new URLSearchParams({
      handle: consent.handle,
      query: consent.query,
      decision: fields.decision,
      secret: fields.secret ?? "",
    }).toString(),
  });
}

/** The redirect back to the client after Allow: `code`, the client's `state`, and `iss`. */
export function codeFrom(res: Response, redirectUrl: string): { code: string; iss: string } {
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location") ?? "");
  expect(`${location.origin}${location.pathname}`).toBe(redirectUrl);
  expect(location.searchParams.get("state")).toBe("state-123");
  return { code: location.searchParams.get("code") ?? "", iss: location.searchParams.get("iss") ?? "" };
}

export function exchange(
  metadata: AuthorizationServerMetadata,
  clientInformation: OAuthClientInformationMixed,
  consent: Consent,
  code: { code: string; iss: string },
  redirectUrl: string,
): Promise<OAuthTokens> {
  return exchangeAuthorization(PUBLIC_URL, {
    metadata,
    clientInformation,
    authorizationCode: code.code,
    iss: code.iss,
    codeVerifier: consent.codeVerifier,
    redirectUri: redirectUrl,
    resource: RESOURCE,
    fetchFn,
  });
}

/** The whole sign-in for a client, Allow with the right secret: its tokens. */
export async function signIn(
  metadata: AuthorizationServerMetadata,
  clientInformation: OAuthClientInformationMixed,
  redirectUrl: string,
  ip: string,
): Promise<OAuthTokens> {
  const consent = await openConsent(metadata, clientInformation, redirectUrl, ip);
  expect(consent.status, consent.html).toBe(200);
  const res = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, ip);
  return exchange(metadata, clientInformation, consent, codeFrom(res, redirectUrl), redirectUrl);
}
