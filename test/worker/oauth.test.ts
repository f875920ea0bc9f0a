/**
 * OAuth 2.1 for Claude.ai, inside workerd: both metadata documents, DCR and CIMD clients through
 * the consent page (right secret, wrong secret, Deny, the per-IP limit), tokens on /mcp in both
 * protocol eras, refresh with rotation, audience binding, hashed storage, and the static bearer
 * beside it all. The client side is the MCP SDK v2 client's own OAuth functions.
 */
import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { OAuthAuthorizationServer } from "@cloudflare/workers-oauth-provider";
import {
  type AuthorizationServerMetadata,
  type OAuthClientInformationMixed,
  refreshAuthorization,
} from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { route } from "../../worker/router.ts";
import { sortedToolNames } from "../mcp-tool-names.ts";
import { CLAUDE_CLIENT_ID, CLAUDE_REDIRECT } from "./cimd-documents.ts";
import { api, connectV2, PUBLIC_URL, TOKEN } from "./mcp-client.ts";
import {
  codeFrom,
  discover,
  exchange,
  fetchFn,
  OWNER_SECRET,
  openConsent,
  RESOURCE,
  registerDcr,
  signIn,
  submitConsent,
} from "./oauth-flow.ts";

const DCR_REDIRECT = "https://client.example/callback";

/** A bearer call to /mcp (tools/list, 2025 era) with the given token. */
const listWith = (token: string) =>
  fetchFn(`${PUBLIC_URL}/mcp`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });

describe("OAuth metadata", () => {
  it("publishes RFC 9728 resource metadata for /mcp, pointing at this issuer", async () => {
    const res = await fetchFn(`${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [PUBLIC_URL],
      scopes_supported: ["vault"],
      bearer_methods_supported: ["header"],
      resource_name: "vault-mcp",
    });
    // RFC 9728 §3.3: the document for /mcp is not served under another path.
    expect((await fetchFn(`${PUBLIC_URL}/.well-known/oauth-protected-resource`)).status).toBe(404);
  });

  it("publishes RFC 8414 metadata: PKCE S256, public clients, CIMD and DCR, refresh tokens", async () => {
    const res = await fetchFn(`${PUBLIC_URL}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    const m = (await res.json()) as Record<string, unknown>;
    expect(m).toMatchObject({
      issuer: PUBLIC_URL,
      authorization_endpoint: `${PUBLIC_URL}/authorize`,
      token_endpoint: `${PUBLIC_URL}/oauth/token`,
      registration_endpoint: `${PUBLIC_URL}/oauth/register`,
      code_challenge_methods_supported: ["S256"],
      client_id_metadata_document_supported: true,
      scopes_supported: ["vault"],
    });
    expect(m.token_endpoint_auth_methods_supported).toContain("none");
    expect(m.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token"]));
  });

  it("a 401 from /mcp names the resource metadata; /api's names only the bearer", async () => {
    const res = await listWith("nope");
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain(`resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('error="invalid_token"');
    const bare = await fetchFn(`${PUBLIC_URL}/mcp`, { method: "POST", body: "{}" });
    expect(bare.headers.get("www-authenticate")).not.toContain("error=");
    const rest = await api("/api/health", { token: "nope" });
    expect(rest.status).toBe(401);
    expect(rest.headers.get("www-authenticate")).toBe('Bearer realm="vault-mcp", error="invalid_token"');
  });
});

describe("OAuth sign-in", () => {
  it("DCR: the consent page names the client, where access goes and the scopes; the right secret gives tokens that work in both eras", async () => {
    const metadata = await discover();
    const client = await registerDcr(metadata);
    const consent = await openConsent(metadata, client, DCR_REDIRECT, "10.0.0.1");
    expect(consent.status).toBe(200);
    // Client-chosen text is escaped, and the redirect host and scopes are shown.
    expect(consent.html).toContain("Test &#60;b&#62;DCR&#60;/b&#62; client");
    expect(consent.html).toContain('<dd id="redirect-host">client.example</dd>');
    expect(consent.html).toContain("its name is not verified");
    expect(consent.html).toContain("<code>vault</code>");
    expect(consent.cookie).toMatch(/^__Host-oauth-consent/);
    const res = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, "10.0.0.1");
    const code = codeFrom(res, DCR_REDIRECT);
    expect(code.iss).toBe(PUBLIC_URL);
    const tokens = await exchange(metadata, client, consent, code, DCR_REDIRECT);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.refresh_token).toBeTruthy();
    // A day, so a connector is not re-prompted hourly.
    expect(tokens.expires_in).toBe(24 * 3600);
    expect((await listWith(tokens.access_token)).status).toBe(200);
    const modern = await connectV2({ era: "modern", token: tokens.access_token, base: PUBLIC_URL });
    expect((await modern.listTools()).tools.map((t) => t.name).sort()).toEqual(sortedToolNames());
    const legacy = await connectV2({ era: "legacy", token: tokens.access_token, base: PUBLIC_URL });
    expect((await legacy.listTools()).tools.map((t) => t.name).sort()).toEqual(sortedToolNames());
    // The OAuth token is for /mcp only; the REST API keeps the static bearer.
    expect((await api("/api/health", { token: tokens.access_token })).status).toBe(401);
  });

  it("CIMD: Claude's metadata-URL client id signs in without registering, and its domain is shown", async () => {
    const metadata = await discover();
    const claude = { client_id: CLAUDE_CLIENT_ID };
    const tokens = await signIn(metadata, claude, CLAUDE_REDIRECT, "10.0.0.2");
    expect((await listWith(tokens.access_token)).status).toBe(200);
    const consent = await openConsent(metadata, claude, CLAUDE_REDIRECT, "10.0.0.2");
    expect(consent.html).toContain('<span id="client-name">Claude</span>');
    expect(consent.html).toContain("Published by <strong>claude.ai</strong>");
    expect(consent.html).toContain('<dd id="redirect-host">claude.ai</dd>');
  });

  it("refuses a form without the consent cookie, and one posted from another site", async () => {
    const metadata = await discover();
    const client = await registerDcr(metadata);
    const consent = await openConsent(metadata, client, DCR_REDIRECT, "10.0.0.5");
    const noCookie = await submitConsent(
      { ...consent, cookie: "" },
      { decision: "allow", secret: OWNER_SECRET },
      "10.0.0.5",
    );
    expect(noCookie.status).toBe(400);
    const crossSite = await fetchFn(`${PUBLIC_URL}/authorize`, {
      method: "POST",
      redirect: "manual",
      headers: {
        cookie: consent.cookie,
        origin: "https://evil.example",
        "content-type": "application/x-www-form-urlencoded",
        "cf-connecting-ip": "10.0.0.5",
      },
      body: new URLSearchParams({ handle: consent.handle, decision: "allow", secret: OWNER_SECRET }).toString(),
    });
    expect(crossSite.status).toBe(403);
  });

  it("without OWNER_SECRET the consent page says how to set it, and grants nothing", async () => {
    const unset = { ...env, OWNER_SECRET: "" } as Env;
    const res = await route(
      new Request(`${PUBLIC_URL}/authorize?client_id=x`, { headers: { host: "127.0.0.1:28787" } }),
      unset,
      createExecutionContext(),
    );
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("wrangler secret put OWNER_SECRET");
  });
});

/** The consent paths, for a self-registered client and for Claude's metadata-document client id. */
const KINDS = [
  { kind: "DCR", net: "10.1.0", redirect: DCR_REDIRECT, client: (m: AuthorizationServerMetadata) => registerDcr(m) },
  {
    kind: "CIMD",
    net: "10.2.0",
    redirect: CLAUDE_REDIRECT,
    client: async (_m: AuthorizationServerMetadata): Promise<OAuthClientInformationMixed> => ({
      client_id: CLAUDE_CLIENT_ID,
    }),
  },
];

describe.each(KINDS)("OAuth consent with a $kind client", (kind) => {
  it("a wrong secret is refused with a clear message and grants nothing; the same page can then be approved", async () => {
    const metadata = await discover();
    const client = await kind.client(metadata);
    const consent = await openConsent(metadata, client, kind.redirect, `${kind.net}.3`);
    const wrong = await submitConsent(consent, { decision: "allow", secret: "guess" }, `${kind.net}.3`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("location")).toBeNull();
    const page = await wrong.text();
    expect(page).toContain("Wrong owner secret");
    expect(page).toContain(`href="/authorize?`);
    const right = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, `${kind.net}.3`);
    codeFrom(right, kind.redirect);
    // A handle works once.
    const again = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, `${kind.net}.3`);
    expect(again.status).toBe(400);
  });

  it("Deny sends the client access_denied with its state, and no code", async () => {
    const metadata = await discover();
    const client = await kind.client(metadata);
    const consent = await openConsent(metadata, client, kind.redirect, `${kind.net}.4`);
    const res = await submitConsent(consent, { decision: "deny" }, `${kind.net}.4`);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location") ?? "");
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("state-123");
    expect(location.searchParams.get("code")).toBeNull();
  });

  it("allows 5 attempts a minute per client IP, then answers 429", async () => {
    const metadata = await discover();
    const client = await kind.client(metadata);
    const consent = await openConsent(metadata, client, kind.redirect, `${kind.net}.6`);
    for (let i = 0; i < 5; i++) {
      const r = await submitConsent(consent, { decision: "allow", secret: `guess-${i}` }, `${kind.net}.6`);
      expect(r.status).toBe(401);
    }
    const limited = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, `${kind.net}.6`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(await limited.text()).toContain("Too many attempts");
    // Another address is not affected.
    const other = await submitConsent(consent, { decision: "allow", secret: OWNER_SECRET }, `${kind.net}.7`);
    codeFrom(other, kind.redirect);
  });
});

describe("OAuth tokens", () => {
  it("refresh rotates: the new pair works, the old access token too until it expires, a used refresh token does not come back", async () => {
    const metadata = await discover();
    const client = await registerDcr(metadata);
    const first = await signIn(metadata, client, DCR_REDIRECT, "10.0.1.1");
    const refresh = (refreshToken: string) =>
      refreshAuthorization(PUBLIC_URL, {
        metadata,
        clientInformation: client,
        refreshToken,
        resource: RESOURCE,
        fetchFn,
      });
    const second = await refresh(first.refresh_token ?? "");
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await listWith(second.access_token)).status).toBe(200);
    expect((await listWith(first.access_token)).status).toBe(200);
    // The new refresh token's first use retires the one before it.
    const third = await refresh(second.refresh_token ?? "");
    expect((await listWith(third.access_token)).status).toBe(200);
    await expect(refresh(first.refresh_token ?? "")).rejects.toThrow();
  });

  it("a token minted for another resource is refused on /mcp (401)", async () => {
    // A second authorization server sharing OAUTH_KV, for https://other.example/mcp: its token is
    // real and stored where ours are, and only its audience differs.
    const other = new OAuthAuthorizationServer<Env>({
      issuer: "https://other.example",
      resources: ["https://other.example/mcp"],
      scopesSupported: ["vault"],
    });
    const helpers = other.getOAuthApi(env);
    const registered = await helpers.createClient({
      redirectUris: ["https://other.example/cb"],
      tokenEndpointAuthMethod: "client_secret_post",
    });
    const authRequest = await helpers.parseAuthRequest(
      new Request(
        `https://other.example/authorize?response_type=code&client_id=${registered.clientId}&redirect_uri=https://other.example/cb&scope=vault&state=s`,
      ),
    );
    const { redirectTo } = await helpers.completeAuthorization({
      request: authRequest,
      userId: "owner",
      metadata: {},
      scope: ["vault"],
      props: {},
    });
    const code = new URL(redirectTo).searchParams.get("code") ?? "";
    const tokenRes = await other.fetch(
      new Request("https://other.example/oauth/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: "https://other.example/cb",
          client_id: registered.clientId,
          client_secret: registered.clientSecret ?? "",
        }).toString(),
      }),
      env,
      createExecutionContext(),
    );
    const foreign = ((await tokenRes.json()) as { access_token: string }).access_token;
    expect(foreign).toMatch(/:/);
    const res = await listWith(foreign);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("an authorization request for another resource is refused before consent", async () => {
    const metadata = await discover();
    // A loopback redirect URI (a local app) may receive the error; others get a page (oauth-hostile.test.ts).
    const loopback = "http://127.0.0.1:9876/callback";
    const client = await registerDcr(metadata, loopback);
    const url = new URL(`${PUBLIC_URL}/authorize`);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: client.client_id,
      redirect_uri: loopback,
      code_challenge: "x".repeat(43),
      code_challenge_method: "S256",
      state: "s",
      resource: "https://evil.example/mcp",
    }).toString();
    const res = await fetchFn(url, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get("location") ?? "").searchParams.get("error")).toBe("invalid_target");
  });

  it("stores tokens only as hashes", async () => {
    const metadata = await discover();
    const client = await registerDcr(metadata);
    const tokens = await signIn(metadata, client, DCR_REDIRECT, "10.0.1.2");
    const secretParts = [tokens.access_token, tokens.refresh_token ?? ""].map((t) => t.split(":").at(-1) ?? "");
    const { keys } = await env.OAUTH_KV.list();
    expect(keys.length).toBeGreaterThan(0);
    for (const { name } of keys) {
      const value = (await env.OAUTH_KV.get(name)) ?? "";
      for (const part of secretParts) {
        expect(name).not.toContain(part);
        expect(value).not.toContain(part);
      }
    }
  });

  it("the static bearer still works on /mcp and /api beside OAuth", async () => {
    expect((await listWith(TOKEN)).status).toBe(200);
    expect((await api("/api/health")).status).not.toBe(401);
    expect((await exports.default.fetch("http://localhost/health")).status).not.toBe(401);
  });
});
