/**
 * OAuth under attack, inside workerd with the real library, KV and rate-limiting bindings: a
 * self-registered client used as an open redirector, a stolen refresh token replayed after
 * rotation, floods of registrations and authorization requests, oversized registrations, and a
 * consent POST that hides its origin. Each case failed before its fix.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AuthorizationServerMetadata, OAuthClientInformationMixed } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { route } from "../../worker/router.ts";
import { CLAUDE_CLIENT_ID, CLAUDE_REDIRECT } from "./cimd-documents.ts";
import { PUBLIC_URL } from "./mcp-client.ts";
import {
  codeFrom,
  discover,
  exchange,
  fetchFn,
  fromAddress,
  OWNER_SECRET,
  openConsent,
  RESOURCE,
  registerDcr,
  signIn,
  submitConsent,
} from "./oauth-flow.ts";

const EVIL = "https://evil.example/phish";
const LOOPBACK = "http://127.0.0.1:9876/callback";

const register = (metadata: AuthorizationServerMetadata, redirect: string, ip: string) =>
  registerDcr(metadata, redirect, ip);

/** An authorization request the library refuses after validating client and redirect (no PKCE). */
function badAuthorizeUrl(clientId: string, redirect: string): URL {
  const url = new URL(`${PUBLIC_URL}/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirect,
    state: "s",
    resource: RESOURCE,
  }).toString();
  return url;
}

describe("no open redirect before consent", () => {
  it("an unknown client's redirect URI gets no error redirect: the error is a page here", async () => {
    const metadata = await discover();
    const evil = await register(metadata, EVIL, "10.60.0.1");
    const res = await fromAddress("10.60.0.1")(badAuthorizeUrl(evil.client_id, EVIL), { redirect: "manual" });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("This sign-in cannot go on");
  });

  it("Claude's callback, a loopback one and one in OAUTH_REDIRECT_ALLOW still get the error", async () => {
    const metadata = await discover();
    const claude = await fromAddress("10.60.0.2")(badAuthorizeUrl(CLAUDE_CLIENT_ID, CLAUDE_REDIRECT), {
      redirect: "manual",
    });
    expect(claude.status).toBe(302);
    expect(claude.headers.get("location")).toMatch(/^https:\/\/claude\.ai\/api\/mcp\/auth_callback\?.*error=/);
    const local = await register(metadata, LOOPBACK, "10.60.0.2");
    const res = await fromAddress("10.60.0.2")(badAuthorizeUrl(local.client_id, LOOPBACK), { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(/^http:\/\/127\.0\.0\.1:9876\/callback\?.*error=/);
    // The owner lists the site: now it may receive errors too.
    const evil = await register(metadata, EVIL, "10.60.0.2");
    const allowing = { ...env, OAUTH_REDIRECT_ALLOW: "https://other.example/cb, https://evil.example" } as Env;
    const allowed = await route(
      new Request(badAuthorizeUrl(evil.client_id, EVIL), {
        headers: { host: "127.0.0.1:28787", "cf-connecting-ip": "10.60.0.2" },
        redirect: "manual",
      }),
      allowing,
      createExecutionContext(),
    );
    expect(allowed.status).toBe(302);
    expect(allowed.headers.get("location")).toMatch(/^https:\/\/evil\.example\/phish\?.*error=/);
  });

  it("after the owner has seen the consent page, Deny still answers the client", async () => {
    const metadata = await discover();
    const evil = await register(metadata, EVIL, "10.60.0.3");
    const consent = await openConsent(metadata, evil, EVIL, "10.60.0.3");
    expect(consent.html).toContain('<dd id="redirect-host">evil.example</dd>');
    const denied = await submitConsent(consent, { decision: "deny" }, "10.60.0.3");
    expect(denied.status).toBe(302);
    expect(new URL(denied.headers.get("location") ?? "").searchParams.get("error")).toBe("access_denied");
  });
});

describe("a rotated refresh token presented again revokes the grant", () => {
  const refresh = (client: OAuthClientInformationMixed, token: string) =>
    fetchFn(`${PUBLIC_URL}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: token,
        client_id: client.client_id,
        resource: RESOURCE,
      }).toString(),
    });
  const tokensOf = async (res: Response) => {
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { access_token: string; refresh_token: string };
  };
  const mcpStatus = async (accessToken: string) =>
    (
      await fetchFn(`${PUBLIC_URL}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${accessToken}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
      })
    ).status;

  async function owner(ip: string) {
    const metadata = await discover();
    const client = await register(metadata, LOOPBACK, ip);
    const first = await signIn(metadata, client, LOOPBACK, ip);
    return { client, first: { access_token: first.access_token, refresh_token: first.refresh_token ?? "" } };
  }

  it("the owner refreshed; the thief replays the old token: refused, and the owner's new tokens die with the grant", async () => {
    const { client, first } = await owner("10.61.0.1");
    const ownerNext = await tokensOf(await refresh(client, first.refresh_token));
    const thief = await refresh(client, first.refresh_token);
    expect(thief.status).toBe(400);
    expect(((await thief.json()) as { error: string }).error).toBe("invalid_grant");
    expect(await mcpStatus(ownerNext.access_token)).toBe(401);
    expect(await mcpStatus(first.access_token)).toBe(401);
    expect((await refresh(client, ownerNext.refresh_token)).status).toBe(400);
  });

  it("the thief refreshed first; the owner's later use revokes the thief's tokens", async () => {
    const { client, first } = await owner("10.61.0.2");
    const thiefNext = await tokensOf(await refresh(client, first.refresh_token));
    expect(await mcpStatus(thiefNext.access_token)).toBe(200);
    expect((await refresh(client, first.refresh_token)).status).toBe(400);
    expect(await mcpStatus(thiefNext.access_token)).toBe(401);
    expect((await refresh(client, thiefNext.refresh_token)).status).toBe(400);
  });

  it("a token two rotations old revokes the grant too", async () => {
    const { client, first } = await owner("10.61.0.3");
    const second = await tokensOf(await refresh(client, first.refresh_token));
    const third = await tokensOf(await refresh(client, second.refresh_token));
    expect((await refresh(client, first.refresh_token)).status).toBe(400);
    expect(await mcpStatus(third.access_token)).toBe(401);
  });
});

describe("registration and authorization are limited per address", () => {
  it("the 21st registration in a minute from one address is a 429; another address still registers", async () => {
    const metadata = await discover();
    for (let i = 0; i < 20; i++) await register(metadata, LOOPBACK, "10.62.0.1");
    const res = await fromAddress("10.62.0.1")(`${PUBLIC_URL}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "one more", redirect_uris: [LOOPBACK], token_endpoint_auth_method: "none" }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("60");
    expect(((await res.json()) as { error: string }).error).toBe("temporarily_unavailable");
    await register(metadata, LOOPBACK, "10.62.0.2");
  });

  it("the 21st authorization page in a minute from one address is a 429 page", async () => {
    const metadata = await discover();
    const client = await register(metadata, LOOPBACK, "10.62.0.3");
    for (let i = 0; i < 20; i++) expect((await openConsent(metadata, client, LOOPBACK, "10.62.0.4")).status).toBe(200);
    const limited = await openConsent(metadata, client, LOOPBACK, "10.62.0.4");
    expect(limited.status).toBe(429);
    expect(limited.html).toContain("Too many requests");
    expect((await openConsent(metadata, client, LOOPBACK, "10.62.0.5")).status).toBe(200);
  });
});

describe("registration fields are capped", () => {
  const post = (body: string, ip: string) =>
    fromAddress(ip)(`${PUBLIC_URL}/oauth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  const valid = { redirect_uris: [LOOPBACK], token_endpoint_auth_method: "none" };

  it.each([
    ["a 101-character client_name", { ...valid, client_name: "x".repeat(101) }, "client_name"],
    [
      "6 redirect URIs",
      { ...valid, redirect_uris: Array.from({ length: 6 }, (_, i) => `${LOOPBACK}${i}`) },
      "redirect_uris",
    ],
    ["a 2001-character logo_uri", { ...valid, logo_uri: `https://a.example/${"x".repeat(1990)}` }, "logo_uri"],
    ["6 contacts", { ...valid, contacts: Array.from({ length: 6 }, (_, i) => `a${i}@b.example`) }, "contacts"],
    [
      "41 fields",
      { ...valid, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x_${i}`, "v"])) },
      "40 fields",
    ],
    ["a field nested 5 levels", { ...valid, x: [[[[1]]]] }, "deeper than 4"],
  ])("%s is refused with invalid_client_metadata naming it", async (_what, body, names) => {
    const res = await post(JSON.stringify(body), "10.63.0.1");
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; error_description: string };
    expect(answer.error).toBe("invalid_client_metadata");
    expect(answer.error_description).toContain(names);
  });

  it("a registration over 16 KiB is a 413; a reasonable one is registered", async () => {
    const big = await post(JSON.stringify({ ...valid, x_pad: "x".repeat(17 * 1024) }), "10.63.0.2");
    expect(big.status).toBe(413);
    const ok = await post(JSON.stringify({ ...valid, client_name: "Fine", x_extension: "kept" }), "10.63.0.2");
    expect(ok.status).toBe(201);
  });
});

describe("the consent POST must come from the consent page", () => {
  async function consentFor(ip: string) {
    const metadata = await discover();
    const client = await register(metadata, LOOPBACK, ip);
    return { metadata, client, consent: await openConsent(metadata, client, LOOPBACK, ip) };
  }
  const postWithout = (
    consent: Awaited<ReturnType<typeof consentFor>>["consent"],
    ip: string,
    extra: Record<string, string>,
  ) =>
    fetchFn(`${PUBLIC_URL}/authorize`, {
      method: "POST",
      redirect: "manual",
      headers: {
        cookie: consent.cookie,
        "content-type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": ip,
        ...extra,
      },
      body: new URLSearchParams({ handle: consent.handle, decision: "allow", secret: OWNER_SECRET }).toString(),
    });

  it("without Origin and without Sec-Fetch-Site: same-origin it is refused, and nothing is granted", async () => {
    const { consent } = await consentFor("10.64.0.1");
    const headers: Record<string, string>[] = [
      {},
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const extra of headers) {
      const res = await postWithout(consent, "10.64.0.1", extra);
      expect(res.status).toBe(403);
      expect(res.headers.get("location")).toBeNull();
    }
    // The handle was not used up by the refusals: the real page still works.
    const res = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, "10.64.0.1");
    codeFrom(res, LOOPBACK);
  });

  it("without Origin but with Sec-Fetch-Site: same-origin it goes through", async () => {
    const { metadata, client, consent } = await consentFor("10.64.0.2");
    const res = await postWithout(consent, "10.64.0.2", { "sec-fetch-site": "same-origin" });
    const tokens = await exchange(metadata, client, consent, codeFrom(res, LOOPBACK), LOOPBACK);
    expect(tokens.access_token).toBeTruthy();
  });
});
