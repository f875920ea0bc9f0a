/**
 * `/status`: the owner's pages. Order of checks: OWNER_SECRET set → sign-in (open, rate-limited
 * with the consent page) → a valid session, else a redirect to sign-in → for a POST, the Origin
 * (or Sec-Fetch-Site) must be this site and the form must carry this session's CSRF token → the
 * page or action. Static files (style, scripts, Mermaid) are Workers Static Assets under
 * /status/assets, served before the Worker runs (public/, wrangler.toml [assets]).
 */
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { toWireError } from "../errors.ts";
import { isOwnerSecret, OWNER_ATTEMPTS_PER_MINUTE, takeOwnerAttempt } from "../oauth/owner-attempts.ts";
import { readForm } from "./forms.ts";
import { type PageContext, postAction, showPage } from "./pages.tsx";
import { htmlResponse, seeOther } from "./respond.ts";
import { clearedCookie, csrfMatches, issueSession, readSession } from "./session.ts";
import { MessagePage, SignInPage } from "./views/sign-in.tsx";

export const isStatusPath = (pathname: string) => pathname === "/status" || pathname.startsWith("/status/");

const SIGN_IN = "/status/sign-in";

/** Where sign-in may send the browser back to: a path under /status, nothing else. */
function safeNext(next: string | null): string {
  return next && /^\/status(?:[/?][^\s\\]*)?$/.test(next) && !next.startsWith("//") ? next : "/status";
}

/** A state-changing request must come from this site's own pages. */
function fromThisSite(request: Request, config: Config): boolean {
  const origin = request.headers.get("origin");
  if (origin !== null) return origin === new URL(request.url).origin || origin === new URL(config.publicUrl).origin;
  return request.headers.get("sec-fetch-site") === "same-origin";
}

const refused = (status: number, title: string, message: string) =>
  htmlResponse(
    <MessagePage title={title} message={message} link={{ href: "/status", text: "Back to the status page" }} />,
    {
      status,
    },
  );

async function signIn(request: Request, env: Env, config: Config, ownerSecret: string): Promise<Response> {
  const url = new URL(request.url);
  if (request.method === "GET" || request.method === "HEAD")
    return htmlResponse(<SignInPage next={safeNext(url.searchParams.get("next"))} message={null} />);
  if (request.method !== "POST") return new Response(null, { status: 405, headers: { allow: "GET, POST" } });
  if (!fromThisSite(request, config)) return refused(403, "Request refused", "The form was posted from another site.");
  const { allowed, ip } = await takeOwnerAttempt(request, env, "status");
  if (!allowed)
    return htmlResponse(
      <SignInPage
        next="/status"
        message={`Too many attempts: more than ${OWNER_ATTEMPTS_PER_MINUTE} sign-in attempts in a minute from this address. Wait a minute.`}
      />,
      { status: 429, headers: { "retry-after": "60" } },
    );
  const form = await readForm(request);
  const next = safeNext(form.get("next"));
  if (!(await isOwnerSecret(form.get("secret") ?? "", ownerSecret))) {
    log("warn", "status_wrong_secret", { ip });
    return htmlResponse(<SignInPage next={next} message="That is not this server's owner secret." />, { status: 401 });
  }
  const { setCookie } = await issueSession(ownerSecret, Date.now());
  log("info", "status_signed_in", { ip });
  return seeOther(next, { "set-cookie": setCookie });
}

export async function handleStatus(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
): Promise<Response> {
  const ownerSecret = config.ownerSecret;
  if (!ownerSecret)
    return refused(
      503,
      "Sign-in is not set up",
      "This server has no OWNER_SECRET, so nobody can sign in. Set it with `npx wrangler secret put OWNER_SECRET` (locally: in .dev.vars).",
    );
  const url = new URL(request.url);
  const path = url.pathname.length > 7 ? url.pathname.replace(/\/+$/, "") : "/status";
  try {
    if (path === SIGN_IN) return await signIn(request, env, config, ownerSecret);
    const now = Date.now();
    const session = await readSession(request, ownerSecret, now);
    const isRead = request.method === "GET" || request.method === "HEAD";
    if (!session) {
      if (isRead) return seeOther(`${SIGN_IN}?next=${encodeURIComponent(url.pathname + url.search)}`);
      return refused(401, "Signed out", "Your session has ended; sign in again and repeat the action.");
    }
    const c: PageContext = { request, env, ctx, config, session, url, path, now };
    if (isRead) return await showPage(c);
    if (request.method !== "POST") return new Response(null, { status: 405, headers: { allow: "GET, POST" } });
    if (!fromThisSite(request, config))
      return refused(403, "Request refused", "The form was posted from another site.");
    const form = await readForm(request);
    if (!(await csrfMatches(session, form.get("csrf") ?? "")))
      return refused(
        403,
        "Request refused",
        "The form is stale or not from this page (no valid CSRF token). Reload and try again.",
      );
    if (path === "/status/sign-out") return seeOther(SIGN_IN, { "set-cookie": clearedCookie() });
    return await postAction(c, form);
  } catch (err) {
    const wire = toWireError(err);
    const title = err instanceof AppError && err.status < 500 ? "Request refused" : "Something went wrong";
    return refused(wire.status, title, wire.body.error.message);
  }
}
