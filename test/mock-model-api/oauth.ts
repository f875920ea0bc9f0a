/**
 * The part of OpenAI's sign-in that `codex login --device-auth` and codex's token refresh speak,
 * enough for the real CLI to log in against the mock (`--experimental_issuer <mock url>`) and to
 * refresh (`CODEX_REFRESH_TOKEN_URL_OVERRIDE=<mock url>/oauth/token`), as captured from codex 0.169.0:
 *   POST /api/accounts/deviceauth/usercode  {client_id}                → {device_auth_id, user_code, interval}
 *   POST /api/accounts/deviceauth/token     {device_auth_id, user_code} → {authorization_code, code_challenge, code_verifier}
 *   POST /oauth/token  grant_type=authorization_code (form) | refresh_token (JSON) → {id_token, access_token, refresh_token}
 * The "user" approves at once. Tokens are unsigned JWTs (codex reads their claims and does not verify
 * them) numbered in issue order: access token n carries `jti: "at-<n>"`, refresh token n is `rt-<n>`.
 */

export const MOCK_ACCOUNT_ID = "acct-mock";
export const MOCK_EMAIL = "vm@example.com";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** An unsigned JWT with `claims` as its payload. */
export function mockJwt(claims: Record<string, unknown>): string {
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.bW9jaw`;
}

/** The payload of a JWT (no verification: for assertions). */
export function jwtClaims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

export interface OAuthExchange {
  /** `device_code`, `authorization_code` or `refresh_token`. */
  grant: string;
  /** The refresh token a refresh presented. */
  refreshToken: string | null;
}

export interface OAuthIssuer {
  /** Answers an OAuth path, or returns null when the path is not one of them. */
  handle(path: string, body: string): { status: number; body: unknown; exchange: OAuthExchange } | null;
  /** Tokens issued so far. */
  readonly issued: number;
}

/**
 * `loginTtlSeconds`: lifetime of the access token a login issues (a short one makes codex refresh
 * before its first request). Refreshed access tokens live an hour.
 */
export function oauthIssuer(loginTtlSeconds = 3600): OAuthIssuer {
  let issued = 0;
  const tokens = (accessTtlSeconds: number) => {
    issued += 1;
    const now = Math.floor(Date.now() / 1000);
    const auth = {
      chatgpt_plan_type: "pro",
      chatgpt_account_id: MOCK_ACCOUNT_ID,
      chatgpt_user_id: "user-mock",
      user_id: "user-mock",
    };
    return {
      id_token: mockJwt({ email: MOCK_EMAIL, iat: now, exp: now + 3600, "https://api.openai.com/auth": auth }),
      access_token: mockJwt({
        jti: `at-${issued}`,
        iat: now,
        exp: now + accessTtlSeconds,
        "https://api.openai.com/auth": auth,
      }),
      refresh_token: `rt-${issued}`,
    };
  };
  return {
    get issued() {
      return issued;
    },
    handle(path, body) {
      if (path.endsWith("/deviceauth/usercode"))
        return {
          status: 200,
          body: { device_auth_id: "dev-mock", user_code: "MOCK-0001", interval: "1" },
          exchange: { grant: "device_code", refreshToken: null },
        };
      if (path.endsWith("/deviceauth/token"))
        return {
          status: 200,
          body: { authorization_code: "code-mock", code_challenge: "challenge-mock", code_verifier: "verifier-mock" },
          exchange: { grant: "device_code", refreshToken: null },
        };
      if (!path.endsWith("/oauth/token")) return null;
      // The code exchange is a form, the refresh a JSON body.
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(body) as Record<string, unknown>;
      } catch {
        fields = Object.fromEntries(new URLSearchParams(body));
      }
      const grant = typeof fields.grant_type === "string" ? fields.grant_type : "unknown";
      const refreshToken = typeof fields.refresh_token === "string" ? fields.refresh_token : null;
      return {
        status: 200,
        body: tokens(grant === "refresh_token" ? 3600 : loginTtlSeconds),
        exchange: { grant, refreshToken },
      };
    },
  };
}
