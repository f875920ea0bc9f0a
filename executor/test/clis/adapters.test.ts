/**
 * What each adapter hands to the process runner (argv, the complete env, the config files it writes)
 * and how parse() copes with outcomes no capture shows: never a throw, always a valid RunResult.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type AuthMode, type CliName, RunResult } from "@vault-mcp/contract";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CODEX_KEY_VAR, CODEX_SUBSCRIPTION_BASE_URL, codexOverrides } from "../../src/clis/codex.ts";
import { GEMINI_CODE_ASSIST_ENDPOINT, GEMINI_POLICY, geminiSettings } from "../../src/clis/gemini.ts";
import { makeAdapters } from "../../src/clis/index.ts";
import type { CliInvocation, ProcessOutcome } from "../../src/interfaces.ts";
import { loadPrices } from "../../src/pricing.ts";
import { processOutcome as base, fixtureOutcome } from "./fixtures.ts";

const adapters = makeAdapters(loadPrices());
const CLIS: CliName[] = ["claude", "codex", "gemini"];
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "vault-adapters-"));
  process.env.VAULT_CANARY_SECRET = "must-not-leak";
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.VAULT_CANARY_SECRET;
});

const PROFILE: Record<CliName, Record<string, string>> = {
  claude: {
    CLAUDE_BIN: "/opt/claude",
    ANTHROPIC_API_KEY: "sk-ant-1",
    ANTHROPIC_BASE_URL: "http://127.0.0.1:1/s/ok",
    ANTHROPIC_SMALL_FAST_MODEL: "deepseek-chat",
  },
  codex: { CODEX_BIN: "/opt/codex", CODEX_API_KEY: "sk-oa-1", CODEX_BASE_URL: "http://127.0.0.1:1/s/ok/v1" },
  gemini: { GEMINI_BIN: "/opt/gemini", GEMINI_API_KEY: "g-1", GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:1/s/ok" },
};

let n = 0;
async function prepare(
  cli: CliName,
  prompt = "Fix the bug",
  profileEnv: Record<string, string> = PROFILE[cli],
  extra: { auth?: AuthMode; maxBudgetUsd?: number; sandboxed?: boolean } = {},
): Promise<{ inv: CliInvocation; home: string; loginHome: string }> {
  const home = path.join(dir, `h${++n}`);
  const loginHome = path.join(dir, `login${n}`);
  const inv = await adapters[cli].prepare({
    prompt,
    model: "m-1",
    cwd: "/work/wt",
    home,
    profileEnv,
    auth: extra.auth ?? "api_key",
    loginHome,
    ...(extra.maxBudgetUsd !== undefined ? { maxBudgetUsd: extra.maxBudgetUsd } : {}),
    ...(extra.sandboxed ? { sandboxed: true } : {}),
  });
  return { inv, home, loginHome };
}

/** The value of each `-c key=value` override. */
function overrides(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, a] of argv.entries()) {
    if (a !== "-c") continue;
    const kv = argv[i + 1] ?? "";
    out[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
  }
  return out;
}

describe("prepare", () => {
  it("claude: headless JSON, acceptEdits + Bash only, repo settings ignored, the prompt on stdin", async () => {
    const { inv, home } = await prepare("claude", "--dangerously-skip-permissions");
    expect(inv.argv).toEqual([
      "/opt/claude",
      "-p",
      "--output-format",
      "json",
      "--model",
      "m-1",
      "--max-turns",
      "40",
      "--permission-mode",
      "acceptEdits",
      "--allowedTools",
      "Bash",
      "--setting-sources",
      "user",
      "--strict-mcp-config",
    ]);
    expect(inv.stdin).toBe("--dangerously-skip-permissions");
    expect(inv.env).toMatchObject({
      HOME: home,
      CLAUDE_CONFIG_DIR: `${home}/.claude`,
      TMPDIR: `${home}/tmp`,
      ANTHROPIC_API_KEY: "sk-ant-1",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:1/s/ok",
      ANTHROPIC_SMALL_FAST_MODEL: "deepseek-chat",
      CLAUDE_CODE_MAX_RETRIES: "0",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
    });
    expect(statSync(`${home}/.claude`).isDirectory()).toBe(true);
  });

  it("claude: a budget is --max-budget-usd with the very value sent", async () => {
    const { inv } = await prepare("claude", "x", PROFILE.claude, { maxBudgetUsd: 0.37 });
    expect(inv.argv.slice(-2)).toEqual(["--max-budget-usd", "0.37"]);
    const { inv: none } = await prepare("claude");
    expect(none.argv).not.toContain("--max-budget-usd");
  });

  it("claude: a subscription passes CLAUDE_CODE_OAUTH_TOKEN and no API key; an api_key run never the token", async () => {
    const env = { ...PROFILE.claude, ANTHROPIC_AUTH_TOKEN: "at-1", CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-x" };
    const { inv: sub } = await prepare("claude", "x", env, { auth: "subscription" });
    expect(sub.env.CLAUDE_CODE_OAUTH_TOKEN).toBe("sk-ant-oat01-x");
    expect(sub.env.ANTHROPIC_API_KEY).toBeUndefined();
    expect(sub.env.ANTHROPIC_AUTH_TOKEN).toBeUndefined();
    expect(sub.env.ANTHROPIC_BASE_URL).toBe("http://127.0.0.1:1/s/ok");
    const { inv: key } = await prepare("claude", "x", env);
    expect(key.env.CLAUDE_CODE_OAUTH_TOKEN).toBeUndefined();
    expect(key.env.ANTHROPIC_API_KEY).toBe("sk-ant-1");
  });

  it("codex: exec --json in workspace-write, the whole config as -c overrides, key renamed, prompt on stdin", async () => {
    const { inv, home } = await prepare("codex", "-rf everything");
    const c = overrides(inv.argv);
    expect(inv.argv.slice(0, 11)).toEqual([
      "/opt/codex",
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--ignore-user-config",
      "--sandbox",
      "workspace-write",
      "-C",
      "/work/wt",
      "-m",
      "m-1",
    ]);
    expect(inv.argv.slice(-2)).toEqual(["--", "-"]);
    expect(inv.stdin).toBe("-rf everything");
    expect(inv.argv).not.toContain("--ephemeral");
    expect(c).toMatchObject({
      model_provider: '"vault"',
      "model_providers.vault.base_url": '"http://127.0.0.1:1/s/ok/v1"',
      "model_providers.vault.env_key": `"${CODEX_KEY_VAR}"`,
      "model_providers.vault.wire_api": '"responses"',
      "model_providers.vault.request_max_retries": "0",
      "model_providers.vault.stream_max_retries": "0",
      "sandbox_workspace_write.exclude_slash_tmp": "true",
      "sandbox_workspace_write.network_access": "false",
      sqlite_home: JSON.stringify(`${home}/codex-state`),
    });
    expect(c["model_providers.vault.requires_openai_auth"]).toBeUndefined();
    expect(inv.env).toMatchObject({ HOME: home, CODEX_HOME: `${home}/.codex`, [CODEX_KEY_VAR]: "sk-oa-1" });
    // The key reaches codex only under the provider's variable; codex hides *KEY* variables from the commands it runs.
    expect(inv.env.CODEX_API_KEY).toBeUndefined();
    expect(inv.env.CODEX_BASE_URL).toBeUndefined();
    // No config file: CODEX_HOME holds nothing of ours.
    expect(readdirSync(`${home}/.codex`)).toEqual([]);
  });

  it("codex: a subscription runs in the login home, untouched, ephemeral, on the ChatGPT login; no key", async () => {
    const { inv, home, loginHome } = await prepare(
      "codex",
      "x",
      { CODEX_BIN: "/opt/codex", CODEX_API_KEY: "sk-oa-1" },
      {
        auth: "subscription",
      },
    );
    const c = overrides(inv.argv);
    expect(inv.env.CODEX_HOME).toBe(loginHome);
    expect(inv.argv).toContain("--ephemeral");
    expect(inv.argv).toContain("--ignore-user-config");
    expect(c).toMatchObject({
      "model_providers.vault.base_url": JSON.stringify(CODEX_SUBSCRIPTION_BASE_URL),
      "model_providers.vault.requires_openai_auth": "true",
      cli_auth_credentials_store: '"file"',
      "features.apps": "false",
      sqlite_home: JSON.stringify(`${home}/codex-state`),
      log_dir: JSON.stringify(`${home}/codex-log`),
    });
    expect(c["model_providers.vault.env_key"]).toBeUndefined();
    expect(inv.env[CODEX_KEY_VAR]).toBeUndefined();
    expect(Object.values(inv.env)).not.toContain("sk-oa-1");
    // prepare wrote nothing into the login home (it does not even create it).
    expect(() => statSync(loginHome)).toThrow();
  });

  it("codex: a subscription as an agent identity runs in its own home on a copy of the login (the runner's)", async () => {
    const { inv, home, loginHome } = await prepare(
      "codex",
      "x",
      { CODEX_BIN: "/opt/codex" },
      {
        auth: "subscription",
        sandboxed: true,
      },
    );
    expect(inv.env.CODEX_HOME).toBe(`${home}/.codex`);
    expect(inv.env.CODEX_HOME).not.toBe(loginHome);
    // Its own home: no need for --ephemeral, and its session log is followed for the budget.
    expect(inv.argv).not.toContain("--ephemeral");
    expect(inv.argv).toContain("danger-full-access");
    expect(overrides(inv.argv)["model_providers.vault.requires_openai_auth"]).toBe("true");
    expect(adapters.codex.loginFiles({ auth: "subscription", sandboxed: true })).toEqual({
      files: [{ login: "auth.json", run: ".codex/auth.json" }],
      exclusive: true,
    });
    expect(adapters.codex.usageLog("subscription", true)).not.toBeNull();
    expect(adapters.codex.usageLog("subscription", false)).toBeNull();
    expect(adapters.codex.loginFiles({ auth: "subscription", sandboxed: false })).toBeNull();
    expect(adapters.codex.loginFiles({ auth: "api_key", sandboxed: true })).toBeNull();
  });

  it("codex: a base URL cannot break out of its TOML string", () => {
    const c = overrides(
      codexOverrides({ baseUrl: 'http://x/"\nmodel_provider = "evil', auth: "api_key", runHome: "/h" }),
    );
    expect(Object.keys(c).filter((k) => k === "model_provider")).toHaveLength(1);
    expect(c["model_providers.vault.base_url"]).toBe(String.raw`"http://x/\"\nmodel_provider = \"evil"`);
  });

  it("gemini: JSON, auto_edit plus a policy for the shell, per-run home, no relaunch, the prompt on stdin", async () => {
    const { inv, home } = await prepare("gemini", "--version");
    expect(inv.argv).toEqual([
      "/opt/gemini",
      "--output-format",
      "json",
      "-m",
      "m-1",
      "--skip-trust",
      "--approval-mode",
      "auto_edit",
    ]);
    expect(inv.stdin).toBe("--version");
    expect(inv.env).toMatchObject({
      HOME: home,
      GEMINI_CLI_HOME: home,
      GEMINI_CLI_NO_RELAUNCH: "true",
      GEMINI_API_KEY: "g-1",
      GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:1/s/ok",
    });
    expect(JSON.parse(readFileSync(`${home}/.gemini/settings.json`, "utf8"))).toEqual(geminiSettings("api_key"));
    expect(geminiSettings("api_key")).toMatchObject({
      security: { auth: { selectedType: "gemini-api-key" } },
      general: { maxAttempts: 1, enableAutoUpdate: false },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
    });
    expect(readFileSync(`${home}/.gemini/policies/vault.toml`, "utf8")).toBe(GEMINI_POLICY);
  });

  it("gemini: the base URL is always set, so a repository's .env cannot redirect the key", async () => {
    const { inv } = await prepare("gemini", "x", { GEMINI_API_KEY: "g-1" });
    expect(inv.env.GOOGLE_GEMINI_BASE_URL).toBe("https://generativelanguage.googleapis.com");
  });

  it("gemini: a subscription links the Google login into the run's home and pins the Code Assist endpoint", async () => {
    const { inv, home, loginHome } = await prepare("gemini", "x", PROFILE.gemini, { auth: "subscription" });
    expect(JSON.parse(readFileSync(`${home}/.gemini/settings.json`, "utf8"))).toMatchObject({
      security: { auth: { selectedType: "oauth-personal" } },
    });
    for (const f of ["oauth_creds.json", "google_accounts.json"]) {
      expect(lstatSync(`${home}/.gemini/${f}`).isSymbolicLink()).toBe(true);
      expect(readlinkSync(`${home}/.gemini/${f}`)).toBe(path.join(loginHome, ".gemini", f));
    }
    expect(inv.env.CODE_ASSIST_ENDPOINT).toBe(GEMINI_CODE_ASSIST_ENDPOINT);
    expect(inv.env.GEMINI_API_KEY).toBeUndefined();
    expect(inv.env.GOOGLE_GEMINI_BASE_URL).toBeUndefined();
    expect(inv.env.GEMINI_CLI_HOME).toBe(home);
  });

  it("gemini: as an agent identity, no links into the login home: the runner copies the login files", async () => {
    const { home } = await prepare("gemini", "x", PROFILE.gemini, { auth: "subscription", sandboxed: true });
    expect(() => lstatSync(`${home}/.gemini/oauth_creds.json`)).toThrow();
    expect(adapters.gemini.loginFiles({ auth: "subscription", sandboxed: true })).toEqual({
      files: [
        { login: ".gemini/oauth_creds.json", run: ".gemini/oauth_creds.json" },
        { login: ".gemini/google_accounts.json", run: ".gemini/google_accounts.json" },
      ],
      exclusive: false,
    });
    expect(adapters.claude.loginFiles({ auth: "subscription", sandboxed: true })).toBeNull();
  });

  it("gemini: a token refresh written to the run's home lands in the login home", async () => {
    const { home, loginHome } = await prepare("gemini", "x", PROFILE.gemini, { auth: "subscription" });
    mkdirSync(path.join(loginHome, ".gemini"), { recursive: true });
    // What gemini's cacheCredentials() does on refresh: fs.writeFile on its own path.
    const { writeFile } = await import("node:fs/promises");
    await writeFile(`${home}/.gemini/oauth_creds.json`, '{"access_token":"new"}', { mode: 0o600 });
    expect(readFileSync(path.join(loginHome, ".gemini", "oauth_creds.json"), "utf8")).toBe('{"access_token":"new"}');
  });

  for (const cli of CLIS) {
    it(`${cli}: the env is the profile's plus the adapter's, nothing from the executor's own env`, async () => {
      const { inv } = await prepare(cli);
      expect(inv.env.VAULT_CANARY_SECRET).toBeUndefined();
      expect(Object.values(inv.env)).not.toContain("must-not-leak");
      expect(inv.env[`${cli.toUpperCase()}_BIN`]).toBeUndefined();
      expect(inv.env.PATH).toBe(process.env.PATH);
    });

    it(`${cli}: the adapter's own settings win over the profile's`, async () => {
      const { inv, home } = await prepare(cli, "x", {
        ...PROFILE[cli],
        HOME: "/root",
        TMPDIR: "/tmp",
        CLAUDE_CODE_MAX_RETRIES: "10",
        GEMINI_CLI_HOME: "/root",
        CODEX_HOME: "/root/.codex",
      });
      expect(inv.env.HOME).toBe(home);
      expect(inv.env.TMPDIR).toBe(`${home}/tmp`);
      if (cli === "claude") expect(inv.env.CLAUDE_CODE_MAX_RETRIES).toBe("0");
      if (cli === "gemini") expect(inv.env.GEMINI_CLI_HOME).toBe(home);
      if (cli === "codex") expect(inv.env.CODEX_HOME).toBe(`${home}/.codex`);
    });

    it(`${cli}: the prompt is never an argument, however long or option-like`, async () => {
      for (const prompt of ["- fix the bug", "--version", "é".repeat(100_000)]) {
        const { inv } = await prepare(cli, prompt);
        expect(inv.stdin).toBe(prompt);
        expect(inv.argv.some((a) => a.includes(prompt.slice(0, 20)))).toBe(false);
      }
    });

    it(`${cli}: without a configured path the executable is looked up by name`, async () => {
      const { [`${cli.toUpperCase()}_BIN`]: _bin, ...rest } = PROFILE[cli];
      const { inv } = await prepare(cli, "x", rest);
      expect(inv.argv[0]).toBe(cli);
    });
  }
});

describe("parse: outcomes no capture shows", () => {
  for (const cli of CLIS) {
    const parse = (o: ProcessOutcome) => adapters[cli].parse(o, { model: "m", cli });
    it(`${cli}: missing executable → setup (not the model's failure), with the reason and the fix`, () => {
      const r = parse(base({ exitCode: null, spawnError: `ENOENT: spawn ${cli} ENOENT` }));
      expect(r).toMatchObject({ ok: false, error: { kind: "setup" } });
      expect(r.error?.message).toContain("ENOENT");
      expect(r.error?.message).toContain(`${cli.toUpperCase()}_BIN`);
    });
    it(`${cli}: garbage on stdout → bad_output`, () => {
      expect(parse(base({ stdout: "not json at all\n" })).error?.kind).toBe("bad_output");
    });
    it(`${cli}: exit 0 and nothing printed → crash`, () => {
      expect(parse(base({})).error?.kind).toBe("crash");
    });
    it(`${cli}: executor shutdown → interrupted`, () => {
      expect(parse(base({ aborted: true, signal: "SIGTERM", exitCode: null })).error?.kind).toBe("interrupted");
    });
    it(`${cli}: our timeout wins over a success payload printed just before the kill`, () => {
      const name = { claude: "claude-json-success", codex: "codex-jsonl-success", gemini: "gemini-json-success" }[cli];
      expect(parse(fixtureOutcome(name, { timedOut: true })).error?.kind).toBe("timeout");
    });
    it(`${cli}: never throws, always a valid RunResult`, () => {
      const name = {
        claude: "claude-json-success",
        codex: "codex-jsonl-tool-workspace-write",
        gemini: "gemini-json-success",
      }[cli];
      const good = fixtureOutcome(name);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc.nat({ max: good.stdout.length }).map((k) => good.stdout.slice(0, k)),
            fc.json(),
          ),
          fc.oneof(fc.string(), fc.constant(fixtureOutcome("gemini-json-401").stderr)),
          fc.option(fc.integer({ min: 0, max: 255 })),
          fc.boolean(),
          (stdout, stderr, exitCode, stdoutTruncated) => {
            const r = parse(base({ stdout, stderr, exitCode, stdoutTruncated }));
            expect(RunResult.safeParse(r).success).toBe(true);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it("claude: a result cut at the output cap → bad_output that says so", () => {
    const good = fixtureOutcome("claude-json-success");
    const r = adapters.claude.parse(
      { ...good, stdout: good.stdout.slice(0, 500), stdoutTruncated: true },
      { model: "sonnet", cli: "claude" },
    );
    expect(r).toMatchObject({ ok: false, truncated: true, error: { kind: "bad_output" } });
    expect(r.error?.message).toMatch(/output cap/);
  });

  it("codex: a stream cut at the output cap before turn.completed → bad_output, not a failed turn", () => {
    const good = fixtureOutcome("codex-jsonl-tool-workspace-write");
    const cut = good.stdout.slice(0, good.stdout.indexOf('{"type":"turn.completed"') + 20);
    const r = adapters.codex.parse({ ...good, stdout: cut, stdoutTruncated: true }, { model: "gpt-5.5", cli: "codex" });
    expect(r).toMatchObject({ ok: false, text: "Done: created hello.txt", error: { kind: "bad_output" } });
  });

  it("codex: a torn last line is skipped, the complete events still count", () => {
    const good = fixtureOutcome("codex-jsonl-success");
    const r = adapters.codex.parse(
      { ...good, stdout: `${good.stdout}{"type":"item.comp` },
      { model: "gpt-5.5", cli: "codex" },
    );
    expect(r.ok).toBe(true);
  });

  it("claude: tolerates unknown keys and wrong-typed extras in its result", () => {
    const good = JSON.parse(fixtureOutcome("claude-json-success").stdout) as Record<string, unknown>;
    const stdout = JSON.stringify({
      ...good,
      brand_new_field: { x: 1 },
      errors: "not-an-array",
      api_error_status: "n/a",
    });
    const r = adapters.claude.parse(base({ stdout }), { model: "sonnet", cli: "claude" });
    expect(r).toMatchObject({ ok: true, text: "Done: created hello.txt", costUsd: 0.002895 });
  });

  it("gemini: without its error object (stderr cut at the cap) the exit code still gives the kind", () => {
    const parse = (exitCode: number) =>
      adapters.gemini.parse(base({ exitCode, stderr: "Error: x\n    at y\n", stderrTruncated: true }), {
        model: "m",
        cli: "gemini",
      }).error?.kind;
    expect([parse(145), parse(147), parse(173), parse(244), parse(41), parse(1), parse(52), parse(55)]).toEqual([
      "auth",
      "auth",
      "rate_limit",
      "api",
      "auth",
      "crash",
      // Its configuration or the folder's trust refused: our setup, not the model.
      "setup",
      "setup",
    ]);
  });

  it("gemini: a turn-limit exit is budget", () => {
    const stderr =
      '{"session_id":"s","error":{"type":"FatalTurnLimitedError","message":"Reached max session turns","code":53}}';
    expect(adapters.gemini.parse(base({ exitCode: 53, stderr }), { model: "m", cli: "gemini" }).error?.kind).toBe(
      "budget",
    );
  });
});
