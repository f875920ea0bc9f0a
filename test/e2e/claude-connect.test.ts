/**
 * Connecting the way Claude clients do, against the real stack (wrangler dev + executor) started as
 * processes on this suite's own ports:
 *  - Claude Code: the pinned `claude` CLI adds the server with the static bearer and checks it; the
 *    wire must show its 2026-07-28 path answered (server/discover, then tools/list), no 400 fallback.
 *  - The official MCP conformance suite, the server scenarios that apply to this server.
 *  - Claude.ai's sign-in: the SDK v2 client's OAuth flow (DCR, PKCE) with the consent page completed
 *    in a real headless Chromium, then tools/list on the token; refresh after a Worker restart.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPaths } from "../clis/paths.ts";
import { sortedToolNames } from "../mcp-tool-names.ts";
import { BrowserOAuthClient } from "./browser-oauth.ts";
import { type E2E, startE2E } from "./fixture.ts";
import { type RecordingProxy, startRecordingProxy } from "./recording-proxy.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..", "..");

let e: E2E;
beforeAll(async () => {
  e = await startE2E({});
}, 120_000);
afterAll(async () => {
  await e?.stop();
}, 60_000);

describe("Claude Code (the pinned claude CLI) as an MCP client", () => {
  it("claude mcp add --header … then claude mcp list: connected over 2026-07-28, server/discover answered, no fallback", async () => {
    const claude = cliPaths.claude;
    if (!claude) throw new Error("the pinned claude CLI is missing; npm test installs test/clis");
    // The proxy only records: the CLI sends its own Authorization header, as configured.
    const proxy = await startRecordingProxy(e.stack.workerUrl);
    const home = mkdtempSync(path.join(os.tmpdir(), "vault-claude-"));
    const project = path.join(home, "project");
    mkdirSync(project);
    const env = {
      ...process.env,
      HOME: home,
      CLAUDE_CONFIG_DIR: path.join(home, ".claude"),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_ERROR_REPORTING: "1",
    };
    try {
      const added = await run(
        claude,
        [
          "mcp",
          "add",
          "--transport",
          "http",
          "vault",
          `${proxy.url}/mcp`,
          "--header",
          `Authorization: Bearer ${e.token}`,
        ],
        { env, cwd: project },
      );
      expect(added.stdout).toContain("Added HTTP MCP server vault");
      const listed = await run(claude, ["mcp", "list"], { env, cwd: project, timeout: 60_000 });
      expect(listed.stdout).toMatch(/vault: .*Connected/);
      const mcp = proxy.requests.filter((r) => r.path === "/mcp");
      expect(mcp[0]).toMatchObject({ rpc: ["server/discover"], protocolVersion: "2026-07-28", status: 200 });
      expect(mcp.map((r) => r.rpc[0])).toContain("tools/list");
      expect(mcp.map((r) => r.rpc[0])).not.toContain("initialize");
      for (const r of mcp) expect(r, JSON.stringify(r)).toMatchObject({ protocolVersion: "2026-07-28", status: 200 });
    } finally {
      await proxy.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

/**
 * The conformance suite's server scenarios that apply to this server, per protocol revision.
 * Skipped, and why:
 *  - tools-call-* (simple-text, image, audio, embedded-resource, mixed-content, error, with-progress,
 *    with-logging, sampling, elicitation), json-schema-2020-12, elicitation-*, input-required-result-*,
 *    tasks-* and http-custom-header-server-validation call the suite's own diagnostic tools
 *    (`test_simple_text`, …), which a server with our tools does not have.
 *  - resources-*, prompts-*, completion-complete, logging-set-level, sep-2164-resource-not-found,
 *    sep-2640-skills-*: this server declares no resources, prompts, completions or logging.
 *  - server-sse-polling, server-session-lifecycle: sessions and resumable SSE; this server is stateless.
 * Inside the scenarios that run, a check the suite marks "not testable" (it needs one of those
 * diagnostic tools) is not a failure, nor are caching hints on prompts/resources lists.
 */
const SCENARIOS: { scenario: string; spec: "2025-11-25" | "2026-07-28" }[] = [
  { scenario: "server-initialize", spec: "2025-11-25" },
  { scenario: "ping", spec: "2025-11-25" },
  { scenario: "tools-list", spec: "2025-11-25" },
  { scenario: "dns-rebinding-protection", spec: "2025-11-25" },
  { scenario: "server-stateless", spec: "2026-07-28" },
  { scenario: "tools-list", spec: "2026-07-28" },
  { scenario: "http-header-validation", spec: "2026-07-28" },
  { scenario: "caching", spec: "2026-07-28" },
  { scenario: "server-sse-multiple-streams", spec: "2026-07-28" },
  { scenario: "dns-rebinding-protection", spec: "2026-07-28" },
];
const NOT_APPLICABLE = new Set([
  "sep-2549-prompts-list-caching-hints",
  "sep-2549-resources-list-caching-hints",
  "sep-2549-resources-templates-list-caching-hints",
]);

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
  details?: { untestable?: boolean };
}

describe("MCP conformance suite (@modelcontextprotocol/conformance)", () => {
  let proxy: RecordingProxy;
  let out: string;
  beforeAll(async () => {
    // The suite has no option for a bearer token: the proxy adds the static one, and passes Host
    // and Origin through untouched for the DNS-rebinding scenario.
    proxy = await startRecordingProxy(e.stack.workerUrl, { authorization: `Bearer ${e.token}` });
    out = mkdtempSync(path.join(os.tmpdir(), "vault-conformance-"));
  });
  afterAll(async () => {
    await proxy?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it.each(SCENARIOS)("$scenario at $spec", async ({ scenario, spec }) => {
    const dir = path.join(out, `${scenario}-${spec}`);
    const cli = path.join(ROOT, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
    const args = [cli, "server", "--url", `${proxy.url}/mcp`, "--scenario", scenario, "--spec-version", spec];
    await run(process.execPath, [...args, "-o", dir], { timeout: 60_000 }).catch((err: unknown) => {
      // It exits non-zero on any failed check, including the not-applicable ones judged below.
      if (!(err && typeof err === "object" && "code" in err)) throw err;
    });
    const [results] = readdirSync(dir);
    const checks = JSON.parse(readFileSync(path.join(dir, results ?? "", "checks.json"), "utf8")) as Check[];
    expect(checks.filter((c) => c.status === "SUCCESS").length, scenario).toBeGreaterThan(0);
    const failed = checks.filter(
      (c) => c.status === "FAILURE" && !c.details?.untestable && !/^Not testable/.test(c.errorMessage ?? ""),
    );
    expect(
      failed.filter((c) => !NOT_APPLICABLE.has(c.id)).map((c) => `${c.id}: ${c.errorMessage}`),
      scenario,
    ).toEqual([]);
  });
});

describe("Claude.ai's sign-in, in a real browser", () => {
  it("DCR, the consent page completed in headless Chromium, tokens for /mcp; refresh works after the Worker restarts", async () => {
    const screenshot = process.env.UPDATE_CONSENT_SCREENSHOT
      ? path.join(ROOT, "docs", "consent-page.png")
      : path.join(os.tmpdir(), `vault-consent-${process.pid}.png`);
    const oauth = await BrowserOAuthClient.start(e.stack.workerUrl);
    try {
      const tools = await oauth.signInAndList(e.stack.secrets.OWNER_SECRET, screenshot);
      expect(tools.sort()).toEqual(sortedToolNames());
      expect(oauth.consentText).toContain("vault-mcp e2e browser client");
      expect(oauth.consentText).toContain("127.0.0.1");
      await e.stack.restartWorker();
      // Grants live in the KV state on disk: the old token still works, and refresh rotates it.
      expect((await oauth.listTools()).sort()).toEqual(sortedToolNames());
      const before = oauth.accessToken;
      await oauth.refresh();
      expect(oauth.accessToken).not.toBe(before);
      expect((await oauth.listTools()).sort()).toEqual(sortedToolNames());
    } finally {
      await oauth.close();
      if (!process.env.UPDATE_CONSENT_SCREENSHOT) rmSync(screenshot, { force: true });
    }
  });
});
