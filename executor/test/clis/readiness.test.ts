/** Readiness: what each profile lacks, said as a variable to set or a command to run, never a value. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadProfiles } from "../../src/profiles.ts";
import { readiness } from "../../src/readiness.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "vault-readiness-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const found = { claude: true, codex: true, gemini: true };

describe("readiness", () => {
  it("no credentials: every profile says which variable to set; consensus names both sides", () => {
    const r = readiness(loadProfiles(undefined, {}), { env: {}, loginsDir: path.join(dir, "none"), found });
    expect(r.profiles).toMatchObject({
      deepseek: { ready: false, missing: "set DEEPSEEK_API_KEY", cli: "claude", auth: "api_key" },
      sonnet: { ready: false, missing: "set ANTHROPIC_API_KEY" },
      opus: { ready: false, missing: "set ANTHROPIC_API_KEY" },
      "gemini-flash": { ready: false, missing: "set GEMINI_API_KEY" },
      codex: { ready: false, missing: "set OPENAI_API_KEY" },
    });
    expect(r.consensus).toEqual({
      profiles: ["sonnet", "codex"],
      ready: false,
      missing: "sonnet: set ANTHROPIC_API_KEY; codex: set OPENAI_API_KEY",
    });
  });

  it("keys set: ready; a CLI that is not installed says how to get it", () => {
    const env = { ANTHROPIC_API_KEY: "sk-secret-value", OPENAI_API_KEY: "sk-other-secret" };
    const r = readiness(loadProfiles(undefined, env), {
      env,
      loginsDir: dir,
      found: { claude: true, codex: false, gemini: null },
    });
    expect(r.profiles.sonnet).toEqual({ cli: "claude", model: "sonnet", auth: "api_key", ready: true });
    expect(r.profiles.codex?.missing).toBe("install the codex CLI (`npm run clis` locally) or set CODEX_BIN");
    expect(r.consensus.ready).toBe(false);
    expect(JSON.stringify(r)).not.toMatch(/secret/);
  });

  it("subscriptions: claude needs CLAUDE_CODE_OAUTH_TOKEN; codex and gemini their login, made with the command shown", () => {
    const env = { CLAUDE_AUTH: "subscription", CODEX_AUTH: "subscription", GEMINI_AUTH: "subscription" };
    const logins = path.join(dir, "logins");
    const before = readiness(loadProfiles(undefined, env), { env, loginsDir: logins, found });
    expect(before.profiles.sonnet?.missing).toBe("set CLAUDE_CODE_OAUTH_TOKEN (from `claude setup-token`)");
    expect(before.profiles.codex?.missing).toBe(
      `run \`CODEX_HOME=${logins}/codex codex login --device-auth -c cli_auth_credentials_store=file\` as the executor's user`,
    );
    expect(before.profiles["gemini-flash"]?.missing).toMatch(
      /GEMINI_CLI_HOME=.*\/logins\/gemini .*gemini.*sign in with Google/,
    );
    // deepseek stays on its API key whatever CLAUDE_AUTH says.
    expect(before.profiles.deepseek?.missing).toBe("set DEEPSEEK_API_KEY");

    mkdirSync(path.join(logins, "codex"), { recursive: true });
    writeFileSync(
      path.join(logins, "codex", "auth.json"),
      JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: "x" } }),
    );
    mkdirSync(path.join(logins, "gemini", ".gemini"), { recursive: true });
    writeFileSync(path.join(logins, "gemini", ".gemini", "oauth_creds.json"), JSON.stringify({ refresh_token: "r" }));
    const withToken = { ...env, CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-secret" };
    const after = readiness(loadProfiles(undefined, withToken), { env: withToken, loginsDir: logins, found });
    for (const name of ["sonnet", "opus", "codex", "gemini-flash", "gemini-pro"])
      expect(after.profiles[name], name).toMatchObject({ ready: true, auth: "subscription" });
    expect(after.consensus.ready).toBe(true);
    expect(JSON.stringify(after)).not.toMatch(/secret/);
  });

  it("a login file that is empty or not JSON is no login", () => {
    const env = { CODEX_AUTH: "subscription" };
    const logins = path.join(dir, "broken");
    mkdirSync(path.join(logins, "codex"), { recursive: true });
    writeFileSync(path.join(logins, "codex", "auth.json"), "{");
    const r = readiness(loadProfiles(undefined, env), { env, loginsDir: logins, found });
    expect(r.profiles.codex?.ready).toBe(false);
  });
});
