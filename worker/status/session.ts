/**
 * The status page's sign-in session: an opaque `__Host-` cookie holding an expiry and a random id,
 * signed with HMAC-SHA256 under a key derived (HKDF) from OWNER_SECRET. Nothing is stored: a changed
 * OWNER_SECRET ends every session at once, and a session lasts SESSION_TTL_MS at most. Sign-out
 * clears the cookie (a copy taken before stays valid until it expires, which HttpOnly, Secure and
 * SameSite=Strict make hard to take).
 *
 * The CSRF token of every state-changing form is an HMAC of the session id under the same key: bound
 * to this session, unguessable without the key, and never stored.
 *
 * `__Host-` needs Secure, a path of `/` and no Domain. Chromium accepts it on http://127.0.0.1 and
 * http://localhost too (loopback counts as a secure context), so the local stack uses the same name.
 */
import { tokensEqual } from "../guards/auth.ts";

export const SESSION_COOKIE = "__Host-vault-status";
/** A working session, not a remembered login: hours, not days. */
export const SESSION_TTL_MS = 4 * 60 * 60 * 1000;
const VERSION = "v1";
const encoder = new TextEncoder();

export interface Session {
  id: string;
  expiresAt: number;
  /** The CSRF token every form of this session carries. */
  csrf: string;
}

function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const byte of b) s += String.fromCharCode(byte);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** One derived key per secret, kept for the isolate's life (deriving costs a few subtle calls). */
let cached: { secret: string; key: Promise<CryptoKey> } | undefined;

function sessionKey(ownerSecret: string): Promise<CryptoKey> {
  if (cached?.secret === ownerSecret) return cached.key;
  const key = crypto.subtle
    .importKey("raw", encoder.encode(ownerSecret), "HKDF", false, ["deriveKey"])
    .then((base) =>
      crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("vault-mcp status session v1") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign", "verify"],
      ),
    );
  cached = { secret: ownerSecret, key };
  return key;
}

async function sign(key: CryptoKey, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

async function sessionFor(key: CryptoKey, id: string, expiresAt: number): Promise<Session> {
  return { id, expiresAt, csrf: await sign(key, `csrf.${id}`) };
}

/** A new session and the Set-Cookie value that carries it. */
export async function issueSession(ownerSecret: string, now: number): Promise<{ session: Session; setCookie: string }> {
  const key = await sessionKey(ownerSecret);
  const id = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const expiresAt = now + SESSION_TTL_MS;
  const payload = `${VERSION}.${expiresAt}.${id}`;
  const value = `${payload}.${await sign(key, payload)}`;
  return {
    session: await sessionFor(key, id, expiresAt),
    setCookie: `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
  };
}

/** The Set-Cookie value that removes the session cookie. */
export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

function cookieValue(request: Request, name: string): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The request's session, or null when it has none, a forged one, or an expired one. */
export async function readSession(request: Request, ownerSecret: string, now: number): Promise<Session | null> {
  const value = cookieValue(request, SESSION_COOKIE);
  const m = value ? /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  if (!m?.[1] || !m[2] || !m[3]) return null;
  const expiresAt = Number(m[1]);
  const signature = fromBase64url(m[3]);
  if (!signature || expiresAt <= now || expiresAt > now + SESSION_TTL_MS) return null;
  const key = await sessionKey(ownerSecret);
  // subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify("HMAC", key, signature, encoder.encode(`${VERSION}.${m[1]}.${m[2]}`));
  return valid ? sessionFor(key, m[2], expiresAt) : null;
}

/** Whether a form's CSRF token is this session's (constant-time). */
export function csrfMatches(session: Session, presented: string): Promise<boolean> {
  return tokensEqual(presented, session.csrf);
}
