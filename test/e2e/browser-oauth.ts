/**
 * An OAuth-capable MCP client with a real browser, for the end-to-end sign-in test: the MCP SDK v2
 * client runs the whole protocol side (401 → resource and server metadata → dynamic registration →
 * PKCE authorization URL → code exchange → refresh); headless Chromium (Debian's, driven by
 * playwright-core; nothing is downloaded) opens the consent page, types the owner secret and clicks
 * Allow; a loopback callback server receives the redirect, as a desktop client's would.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import {
  Client,
  discoverOAuthServerInfo,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  refreshAuthorization,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** No sandbox (containers), no GPU, and nothing that reaches out to Google's services. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The client's stored state, in memory: what a real client keeps in its keychain. */
class MemoryProvider implements OAuthClientProvider {
  info: StoredOAuthClientInformation | undefined;
  saved: StoredOAuthTokens | undefined;
  verifier = "";
  discovery: OAuthDiscoveryState | undefined;
  authorizationUrl: URL | undefined;
  readonly redirectUrl: string;
  constructor(redirectUrl: string) {
    this.redirectUrl = redirectUrl;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "vault-mcp e2e browser client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: StoredOAuthClientInformation) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  /** Kept with the verifier so the callback is checked against the server that issued the URL. */
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

export class BrowserOAuthClient {
  consentText = "";
  private browser: BrowserContext | undefined;
  private profile: string | undefined;
  private readonly workerUrl: string;
  private readonly callback: Server;
  private readonly provider: MemoryProvider;
  private readonly callbackParams: Promise<URLSearchParams>;

  private constructor(
    workerUrl: string,
    callback: Server,
    provider: MemoryProvider,
    callbackParams: Promise<URLSearchParams>,
  ) {
    this.workerUrl = workerUrl;
    this.callback = callback;
    this.provider = provider;
    this.callbackParams = callbackParams;
  }

  /** Starts the loopback callback server the consent page redirects to. */
  static async start(workerUrl: string): Promise<BrowserOAuthClient> {
    let resolveParams: (p: URLSearchParams) => void = () => undefined;
    const params = new Promise<URLSearchParams>((resolve) => {
      resolveParams = resolve;
    });
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      if (url.pathname !== "/callback") {
        res.writeHead(404).end();
        return;
      }
      resolveParams(url.searchParams);
      res.writeHead(200, { "content-type": "text/plain" }).end("Signed in; you can close this window.");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return new BrowserOAuthClient(workerUrl, server, new MemoryProvider(`http://127.0.0.1:${port}/callback`), params);
  }

  get accessToken(): string {
    return this.provider.saved?.access_token ?? "";
  }

  private transport(): StreamableHTTPClientTransport {
    return new StreamableHTTPClientTransport(new URL(`${this.workerUrl}/mcp`), { authProvider: this.provider });
  }

  /**
   * The first connect meets the 401 and runs discovery and registration up to the authorization
   * URL; the browser does the owner's part; the callback's code finishes the flow.
   */
  async signInAndList(ownerSecret: string, screenshot: string): Promise<string[]> {
    const transport = this.transport();
    const first = new Client({ name: "e2e-browser", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await first.connect(transport).then(
      () => {
        throw new Error("connected without signing in");
      },
      (err: unknown) => {
        if (!(err instanceof UnauthorizedError)) throw err;
      },
    );
    const authorizationUrl = this.provider.authorizationUrl;
    if (!authorizationUrl) throw new Error("the client never asked for authorization");
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)`);
    this.profile = mkdtempSync(path.join(os.tmpdir(), "vault-chromium-"));
    // A phone-sized window: the page must read there, and this is the screenshot in docs/.
    this.browser = await chromium.launchPersistentContext(this.profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 390, height: 780 },
      deviceScaleFactor: 2,
    });
    const page = this.browser.pages()[0] ?? (await this.browser.newPage());
    await page.goto(authorizationUrl.href);
    this.consentText = (await page.textContent("main")) ?? "";
    await page.fill("#secret", ownerSecret);
    await page.screenshot({ path: screenshot, fullPage: true });
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(this.provider.redirectUrl)),
      page.click('button[value="allow"]'),
    ]);
    await transport.finishAuth(await this.callbackParams);
    return this.listTools();
  }

  /** A fresh connection on the stored tokens. */
  async listTools(): Promise<string[]> {
    const client = new Client({ name: "e2e-browser", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(this.transport());
    try {
      return (await client.listTools()).tools.map((t) => t.name);
    } finally {
      await client.close();
    }
  }

  async refresh(): Promise<void> {
    const refreshToken = this.provider.saved?.refresh_token;
    const info = this.provider.info;
    if (!refreshToken || !info) throw new Error("no refresh token to use");
    const { authorizationServerMetadata: metadata } = await discoverOAuthServerInfo(`${this.workerUrl}/mcp`);
    this.provider.saveTokens(
      await refreshAuthorization(this.workerUrl, {
        metadata,
        clientInformation: info,
        refreshToken,
        resource: `${this.workerUrl}/mcp`,
      }),
    );
  }

  async close(): Promise<void> {
    await this.browser?.close();
    if (this.profile) rmSync(this.profile, { recursive: true, force: true });
    this.callback.closeAllConnections();
    await new Promise<void>((resolve) => this.callback.close(() => resolve()));
  }
}
