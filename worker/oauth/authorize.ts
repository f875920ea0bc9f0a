/**
 * `/authorize`: the one-owner consent page. GET validates the request with the library (client,
 * exact redirect URI, PKCE S256, resource) and shows who asks for what; POST checks the owner's
 * secret and approves or denies. CSRF: the form carries only the library's one-time handle, which is
 * bound to this browser by a `__Host-` cookie and to the stored request (never rebuilt from the form),
 * and a POST that is not same-origin (by Origin, or without it by Sec-Fetch-Site) is refused outright.
 * Page views and attempts are limited per client IP. Errors before consent are redirected only to a
 * trusted redirect URI (redirects.ts), else shown here.
 */
import { AuthorizationError, CimdFetchError, type OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { readBodyText } from "../http.ts";
import { consentPage, messagePage } from "./consent-page.ts";
import { limitedPerAddress } from "./limits.ts";
import { isOwnerSecret, takeOwnerAttempt } from "./owner-attempts.ts";
import { AUTHORIZE_PATH, OWNER, oauthSetup, SCOPE } from "./provider.ts";
import { redirectTrusted } from "./redirects.ts";

/** No script and no third-party asset: only our own inline style; never framed. */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";
const MAX_FORM_BYTES = 8 * 1024;

function html(status: number, body: string, headers: Headers = new Headers()): Response {
  headers.set("content-type", "text/html; charset=utf-8");
  headers.set("content-security-policy", CSP);
  headers.set("cache-control", "no-store");
  // The form POST must carry our Origin (a no-referrer policy would make it `null`).
  headers.set("referrer-policy", "same-origin");
  headers.set("x-content-type-options", "nosniff");
  return new Response(body, { status, headers });
}

export async function handleAuthorize(request: Request, env: Env, config: Config): Promise<Response> {
  if (request.method !== "GET" && request.method !== "POST")
    return new Response(null, { status: 405, headers: { allow: "GET, POST" } });
  if (!config.ownerSecret) {
    return html(
      503,
      messagePage(
        "Sign-in is not set up",
        "This vault-mcp server has no OWNER_SECRET, so nobody can approve a connection. The owner sets it with `npx wrangler secret put OWNER_SECRET` (locally: in .dev.vars).",
      ),
    );
  }
  const oauth = oauthSetup(config).server.getOAuthApi(env);
  try {
    if (request.method === "GET") {
      const limited = await limitedPerAddress(env, request, "authorize");
      if (limited) return html(429, messagePage("Too many requests", limited.message), limited.headers);
      return await show(request, oauth);
    }
    return await decide(request, { env, config, oauth, ownerSecret: config.ownerSecret });
  } catch (err) {
    if (err instanceof AuthorizationError && err.redirectTo && err.redirectUri) {
      if (redirectTrusted(err.redirectUri, config)) return Response.redirect(err.redirectTo, 302);
      // Before consent, an unknown client's redirect URI would make this server an open redirector.
      log("warn", "oauth_error_not_redirected", { code: err.code, redirectUri: err.redirectUri });
    }
    if (err instanceof AuthorizationError)
      return html(400, messagePage("This sign-in cannot go on", `${err.description}. Start again from the app.`));
    if (err instanceof CimdFetchError) {
      log("warn", "cimd_fetch_failed", { reason: err.reason, url: err.metadataUrl, detail: err.detail });
      return html(
        400,
        messagePage(
          "The app could not be verified",
          "Its client metadata document could not be fetched or is invalid. Try again later, or connect it without a metadata document (dynamic registration).",
        ),
      );
    }
    if (err instanceof AppError) return html(err.status, messagePage("Request refused", err.message));
    throw err;
  }
}

async function show(request: Request, oauth: OAuthHelpers): Promise<Response> {
  const authRequest = await oauth.parseAuthRequest(request);
  // describeConsent first: if the client lookup fails, nothing has been stored yet.
  const details = await oauth.describeConsent(authRequest);
  const consent = await oauth.beginConsent(authRequest);
  const query = new URL(request.url).search.replace(/^\?/, "");
  return html(200, consentPage({ details, handle: consent.handle, grant: [SCOPE], query }), consent.headers);
}

interface Consent {
  env: Env;
  config: Config;
  oauth: OAuthHelpers;
  ownerSecret: string;
}

async function decide(request: Request, { env, config, oauth, ownerSecret }: Consent): Promise<Response> {
  // A browser sends Origin with a form POST; one that does not (an old browser, a stripped header)
  // must at least say the POST came from this site's own page.
  const origin = request.headers.get("origin");
  const sameOrigin =
    origin === null
      ? request.headers.get("sec-fetch-site") === "same-origin"
      : origin === new URL(config.publicUrl).origin;
  if (!sameOrigin) return html(403, messagePage("Request refused", "The form was not posted from this sign-in page."));
  const { allowed, ip } = await takeOwnerAttempt(request, env, "consent");
  if (!allowed) {
    return html(
      429,
      messagePage("Too many attempts", "More than 5 sign-in attempts in a minute from this address. Wait a minute."),
      new Headers({ "retry-after": "60" }),
    );
  }
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get("content-type") ?? ""))
    throw new AppError("unsupported_media_type", "post the consent form as application/x-www-form-urlencoded");
  const form = new URLSearchParams(await readBodyText(request, MAX_FORM_BYTES));
  const handle = form.get("handle") ?? "";
  if (form.get("decision") !== "allow") {
    const denied = await oauth.denyConsent(request, handle);
    log("info", "consent_denied", { client: denied.request.clientId });
    return new Response(null, { status: 302, headers: denied.headers });
  }
  if (!(await isOwnerSecret(form.get("secret") ?? "", ownerSecret))) {
    log("warn", "consent_wrong_secret", { ip });
    // The handle is still unused: starting over shows a fresh page for the same request.
    const retry = `${AUTHORIZE_PATH}?${form.get("query") ?? ""}`;
    return html(
      401,
      messagePage("Wrong owner secret", "That is not this server's owner secret. Nothing was granted.", retry),
    );
  }
  const approved = await oauth.approveConsent(request, handle, { scope: [SCOPE] });
  const { redirectTo } = await oauth.completeAuthorization({
    request: approved.request,
    userId: OWNER,
    metadata: {},
    scope: [SCOPE],
    props: { owner: true },
  });
  log("info", "consent_granted", { client: approved.request.clientId });
  approved.headers.set("location", redirectTo);
  return new Response(null, { status: 302, headers: approved.headers });
}
