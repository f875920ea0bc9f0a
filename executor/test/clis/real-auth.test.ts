/**
 * Subscription logins with the REAL pinned CLIs against the mock model API (which also plays
 * OpenAI's sign-in for codex, test/mock-model-api/oauth.ts):
 *  - claude with only CLAUDE_CODE_OAUTH_TOKEN: sent as the bearer, no API key;
 *  - codex with a login home made by its own `codex login --device-auth` (as executor/README.md says
 *    to do on the VM): each run gets its own config, and only codex itself writes in the login home,
 *    where the tokens it refreshes stay for the next run.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { requireCli } from "../../../test/clis/paths.ts";
import {
  jwtClaims,
  MOCK_ACCOUNT_ID,
  type MockModelApi,
  REPLY,
  startMockModelApi,
} from "../../../test/mock-model-api/server.ts";
import { cleanupReal, runReal } from "./real-harness.ts";

const dirs: string[] = [];
const mocks: MockModelApi[] = [];
afterAll(async () => {
  cleanupReal();
  for (const m of mocks) await m.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function mock(loginTokenTtlSeconds?: number): Promise<MockModelApi> {
  const m = await startMockModelApi(loginTokenTtlSeconds === undefined ? {} : { loginTokenTtlSeconds });
  mocks.push(m);
  return m;
}

describe.concurrent("subscription logins (real CLIs)", () => {
  it("claude with only CLAUDE_CODE_OAUTH_TOKEN: the model sees it as the bearer and no API key", async () => {
    const m = await mock();
    const token = "sk-ant-oat01-mock-subscription-token";
    const { run, requests, inv } = await runReal("claude", {
      scenario: "ok",
      mock: m,
      auth: "subscription",
      // The profile's key is set too: a subscription run must not pass it.
      profileEnv: { CLAUDE_CODE_OAUTH_TOKEN: token },
    });
    expect(run.error, JSON.stringify(run.error)).toBeUndefined();
    expect(run).toMatchObject({ ok: true, text: REPLY });
    expect(inv.env.ANTHROPIC_API_KEY).toBeUndefined();
    const calls = requests.filter((q) => q.method === "POST");
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(c.credentials).toMatchObject({ bearer: token, apiKey: null });
  });

  /** `codex login --device-auth`, the documented one-time login, against the mock's sign-in. */
  async function codexLogin(m: MockModelApi): Promise<string> {
    const root = mkdtempSync(path.join(os.tmpdir(), "vault-codex-login-"));
    dirs.push(root);
    const home = path.join(root, "logins", "codex");
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const { stdout, stderr } = await promisify(execFile)(
      requireCli("codex"),
      ["login", "--device-auth", "--experimental_issuer", m.url, "-c", "cli_auth_credentials_store=file"],
      { env: { PATH: process.env.PATH ?? "", HOME: root, CODEX_HOME: home }, timeout: 30_000 },
    );
    expect(stdout + stderr).toContain("Successfully logged in");
    return home;
  }

  /** Every file under `dir` with its bytes and mtime. */
  function snapshot(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      const p = path.join(dir, name);
      const st = statSync(p);
      if (st.isFile()) out.set(name, `${st.mtimeMs}:${readFileSync(p, "base64")}`);
    }
    return out;
  }

  it("codex on a ChatGPT login: its per-run config is used, the login home is written by codex only", async () => {
    const m = await mock();
    const login = await codexLogin(m);
    // A config.toml in the login home must not steer a run (the runs bring their whole config).
    writeFileSync(path.join(login, "config.toml"), 'model_provider = "openai"\nmodel = "gpt-4o"\n');
    const before = snapshot(login);
    const auth = JSON.parse(readFileSync(path.join(login, "auth.json"), "utf8")) as {
      tokens: { access_token: string };
    };
    const { run, requests, inv } = await runReal("codex", {
      scenario: "ok",
      mock: m,
      auth: "subscription",
      loginHome: login,
      profileEnv: { CODEX_API_KEY: null, CODEX_BASE_URL: `${m.url}/s/ok/v1` },
    });
    expect(run.error, JSON.stringify(run.error)).toBeUndefined();
    expect(run).toMatchObject({ ok: true, text: REPLY, model: "gpt-5.5" });
    expect(inv.env.CODEX_HOME).toBe(login);
    const turns = requests.filter((q) => q.method === "POST" && q.path === "/v1/responses");
    expect(turns).toHaveLength(1);
    // The run's own provider and model, on the login's token (no API key anywhere).
    expect(turns[0]).toMatchObject({
      scenario: "ok",
      model: "gpt-5.5",
      credentials: { bearer: auth.tokens.access_token, apiKey: null, accountId: MOCK_ACCOUNT_ID },
    });
    const after = snapshot(login);
    // What was there is byte for byte the same; what is new is codex's own (no session, state or log of the run).
    for (const [name, v] of before) expect(after.get(name), name).toBe(v);
    const added = [...after.keys()].filter((n) => !before.has(n));
    expect(added.filter((n) => /^(sessions|codex-state|codex-log)|\.sqlite|config\.toml$/.test(n))).toEqual([]);
  });

  it("codex: a token it refreshes during a run stays in the login home and is used by the next run", async () => {
    // The login's access token expires within codex's refresh margin: the first run refreshes it.
    const m = await mock(60);
    const login = await codexLogin(m);
    const profileEnv = {
      CODEX_API_KEY: null,
      CODEX_BASE_URL: `${m.url}/s/ok/v1`,
      // Where codex refreshes; on the VM it is OpenAI's and this variable is unset.
      CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${m.url}/oauth/token`,
    };
    const first = await runReal("codex", {
      scenario: "ok",
      mock: m,
      auth: "subscription",
      loginHome: login,
      profileEnv,
    });
    expect(first.run.error, JSON.stringify(first.run.error)).toBeUndefined();
    const refreshes = (r: typeof first) => r.requests.filter((q) => q.oauth?.grant === "refresh_token");
    expect(refreshes(first).map((q) => q.oauth?.refreshToken)).toEqual(["rt-1"]);
    const saved = JSON.parse(readFileSync(path.join(login, "auth.json"), "utf8")) as {
      tokens: { access_token: string; refresh_token: string };
    };
    expect(saved.tokens.refresh_token).toBe("rt-2");
    expect(jwtClaims(saved.tokens.access_token).jti).toBe("at-2");
    const turn = first.requests.find((q) => q.path === "/v1/responses");
    expect(turn?.credentials.bearer).toBe(saved.tokens.access_token);

    const second = await runReal("codex", {
      scenario: "ok",
      mock: m,
      auth: "subscription",
      loginHome: login,
      profileEnv,
    });
    expect(second.run.error, JSON.stringify(second.run.error)).toBeUndefined();
    // The next run finds the refreshed token where codex left it: no refresh, the new token.
    expect(refreshes(second)).toEqual([]);
    expect(second.requests.find((q) => q.path === "/v1/responses")?.credentials.bearer).toBe(saved.tokens.access_token);
  });
});
