/**
 * A codex ChatGPT login with the agent sandbox on (as root: makes its identities). The identity may
 * not enter the executor's login home, so each run gets a copy; what codex refreshes comes back, and
 * the login home holds it for the next run. The login is made by the real `codex login --device-auth`
 * against the mock's sign-in, as executor/README.md says to do on the VM.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { JobView } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPaths, requireCli } from "../../../test/clis/paths.ts";
import { writeProfiles } from "../../../test/e2e/fixture.ts";
import { jwtClaims, type MockModelApi, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import { type Harness, post } from "../server/harness.ts";
import {
  cleanupAll,
  IS_ROOT,
  makeIdentities,
  runningExecutor,
  sandboxHarness,
  type TestIdentities,
} from "./helpers.ts";

interface AuthJson {
  tokens: { access_token: string; refresh_token: string };
}

describe.skipIf(!IS_ROOT || !cliPaths.codex)("codex subscription as an agent identity (AGENT_SANDBOX=on)", () => {
  let ids: TestIdentities;
  let mock: MockModelApi;
  let h: Harness;
  let url: string;
  let stop: () => Promise<unknown>;
  let login: string;

  beforeAll(async () => {
    ids = makeIdentities(2);
    // The login's access token is about to expire: the first run refreshes it.
    mock = await startMockModelApi({ loginTokenTtlSeconds: 60 });
    h = sandboxHarness(ids.prefix, { CODEX_BIN: requireCli("codex") });
    login = path.join(h.dir, "data", "logins", "codex");
    mkdirSync(login, { recursive: true, mode: 0o700 });
    await promisify(execFile)(
      requireCli("codex"),
      ["login", "--device-auth", "--experimental_issuer", mock.url, "-c", "cli_auth_credentials_store=file"],
      { env: { PATH: process.env.PATH ?? "", HOME: h.dir, CODEX_HOME: login }, timeout: 30_000 },
    );
    const profiles = path.join(h.dir, "data-profiles.json");
    writeProfiles(profiles, mock.url, {});
    const file = JSON.parse(readFileSync(profiles, "utf8")) as { profiles: Record<string, Record<string, unknown>> };
    const codex = file.profiles.codex as { env: Record<string, string> };
    // Its API key stays in the env and is not passed; codex refreshes at the mock (on the VM: OpenAI).
    file.profiles.codex = {
      ...codex,
      auth: "subscription",
      env: { ...codex.env, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token` },
    };
    writeFileSync(profiles, JSON.stringify(file));
    ({ url, stop } = await runningExecutor(h, { PROFILES_FILE: profiles }));
  }, 60_000);
  afterAll(() =>
    cleanupAll(
      () => stop?.(),
      () => mock?.close(),
      () => h?.cleanup(),
      () => ids?.remove(),
    ),
  );

  it("runs on a copy of the login; the token codex refreshed lands in the login home and serves the next run", async () => {
    const before = JSON.parse(readFileSync(path.join(login, "auth.json"), "utf8")) as AuthJson;
    const first = JobView.parse(
      await (await post(`${url}/execute`, { jobKey: "sub-1", executor: "codex", prompt: "hi", repo: "demo" })).json(),
    );
    expect(first.status, JSON.stringify(first.result?.run.error)).toBe("succeeded");
    const refresh = mock.requests().filter((q) => q.oauth?.grant === "refresh_token");
    expect(refresh.map((q) => q.oauth?.refreshToken)).toEqual([before.tokens.refresh_token]);
    const after = JSON.parse(readFileSync(path.join(login, "auth.json"), "utf8")) as AuthJson;
    expect(after.tokens.refresh_token).not.toBe(before.tokens.refresh_token);
    expect(jwtClaims(after.tokens.access_token).jti).toBe("at-2");
    // Still the executor's file, private to it: the identity never had the login home.
    const st = statSync(path.join(login, "auth.json"));
    expect([st.uid, st.mode & 0o777]).toEqual([process.geteuid?.(), 0o600]);

    const seen = mock.requests().length;
    const second = JobView.parse(
      await (await post(`${url}/execute`, { jobKey: "sub-2", executor: "codex", prompt: "hi", repo: "demo" })).json(),
    );
    expect(second.status, JSON.stringify(second.result?.run.error)).toBe("succeeded");
    const later = mock.requests().slice(seen);
    expect(later.filter((q) => q.oauth !== null)).toEqual([]);
    expect(later.find((q) => q.path === "/v1/responses")?.credentials.bearer).toBe(after.tokens.access_token);
  }, 90_000);
});
