/**
 * Every captured output of the real CLIs (fixtures/: stdout and stderr exactly as the pinned versions
 * printed them against the mock model API, plus exit status) maps to the right normalized result.
 * Runs the capture harness killed itself are read twice: as our timeout (→ timeout) and as a kill
 * we did not order (→ crash).
 */
import { readdirSync } from "node:fs";
import { type CliName, type RunError, RunResult, type Tokens } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { makeAdapters } from "../../src/clis/index.ts";
import type { ProcessOutcome } from "../../src/interfaces.ts";
import { computeCost, loadPrices } from "../../src/pricing.ts";
import { FIXTURES_DIR, fixtureMeta, fixtureOutcome } from "./fixtures.ts";

const prices = loadPrices();
const adapters = makeAdapters(prices);
const meta = fixtureMeta;

const cliOf = (name: string): CliName => name.split("-")[0] as CliName;
const MODEL: Record<CliName, string> = { claude: "sonnet", codex: "gpt-5.5", gemini: "gemini-2.5-flash" };

function parse(name: string, over: Partial<ProcessOutcome> = {}): RunResult {
  const cli = cliOf(name);
  const r = adapters[cli].parse(fixtureOutcome(name, over), { model: MODEL[cli], cli });
  const check = RunResult.safeParse(r);
  expect(check.success, check.success ? "" : JSON.stringify(check.error.issues)).toBe(true);
  return r;
}

/** What each fixture must read as when the run ended by itself. */
const EXPECTED: Record<string, "ok" | RunError["kind"]> = {
  "claude-json-success": "ok",
  "claude-json-success-without-traffic-flags": "ok",
  "claude-json-unknown-model": "ok",
  "claude-json-tool-accept-edits": "ok",
  "claude-json-tool-allowedtools": "ok",
  "claude-json-tool-skip-permissions": "ok",
  // A denied tool is the agent's business: the run itself succeeded and says what happened.
  "claude-json-tool-denied": "ok",
  "claude-json-tool-allowedtools-pattern-denied": "ok",
  "claude-json-401": "auth",
  "claude-json-no-api-key": "auth",
  "claude-json-429": "rate_limit",
  "claude-json-500": "api",
  "claude-json-500-default-retries": "api",
  "claude-json-server-down": "api",
  "claude-json-server-down-default-retries": "api",
  "claude-json-stream-dropped": "api",
  "claude-json-max-budget-exceeded": "budget",
  "claude-json-max-turns-1": "turns",
  "claude-json-permission-mode-bypass-as-root": "crash",
  "claude-json-skip-permissions-as-root": "crash",
  "claude-json-timeout-sigterm": "crash",
  "claude-json-timeout-group-sigterm": "crash",
  "claude-json-timeout-sigkill": "crash",

  "codex-jsonl-success": "ok",
  "codex-jsonl-ephemeral": "ok",
  "codex-jsonl-unknown-model": "ok",
  "codex-jsonl-builtin-provider-openai-base-url": "ok",
  "codex-jsonl-tool-workspace-write": "ok",
  "codex-jsonl-tool-bypass-sandbox": "ok",
  "codex-jsonl-tool-read-only": "ok",
  "codex-jsonl-401": "auth",
  "codex-jsonl-no-api-key": "auth",
  "codex-jsonl-429": "rate_limit",
  "codex-jsonl-500": "api",
  "codex-jsonl-500-default-retries": "api",
  "codex-jsonl-stream-dropped": "api",
  "codex-jsonl-not-a-git-repo": "crash",
  "codex-jsonl-wire-api-chat": "crash",
  "codex-jsonl-server-down": "crash",
  "codex-jsonl-server-down-default-retries": "crash",
  "codex-jsonl-builtin-provider-openai-base-url-env": "crash",
  "codex-jsonl-slow-sigterm": "crash",
  "codex-jsonl-timeout-sigterm": "crash",
  "codex-jsonl-timeout-group-sigterm": "crash",
  "codex-jsonl-timeout-sigkill": "crash",

  "gemini-json-success": "ok",
  "gemini-json-tool-yolo": "ok",
  "gemini-json-tool-no-yolo": "ok",
  "gemini-json-401": "auth",
  "gemini-json-401-default-retries": "auth",
  "gemini-json-no-api-key": "auth",
  "gemini-json-env-only-auth": "auth",
  "gemini-json-429": "rate_limit",
  "gemini-json-500": "api",
  "gemini-json-500-default-retries": "api",
  "gemini-json-server-down": "api",
  "gemini-json-server-down-default-retries": "api",
  "gemini-json-stream-dropped": "api",
  // Folder trust is our setting (--skip-trust), not the model's doing.
  "gemini-json-untrusted-folder": "setup",
  // exit 0 and nothing printed after a SIGTERM: only our own timeout flag can tell it was us.
  "gemini-json-timeout-group-sigterm": "crash",
  "gemini-json-timeout-sigterm-no-relaunch": "crash",
  "gemini-json-timeout-sigterm": "crash",
  "gemini-json-timeout-sigkill": "crash",
};

const fixtures = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith(".meta.json"))
  .map((f) => f.slice(0, -".meta.json".length))
  .sort();

describe("captured fixtures", () => {
  it("every fixture has an expectation", () => {
    expect(fixtures.filter((f) => !(f in EXPECTED))).toEqual([]);
    expect(Object.keys(EXPECTED).filter((f) => !fixtures.includes(f))).toEqual([]);
  });

  for (const name of fixtures) {
    const want = EXPECTED[name];
    it(`${name} → ${want}`, () => {
      const r = parse(name);
      if (want === "ok") {
        expect(r.error, JSON.stringify(r.error)).toBeUndefined();
        expect(r.ok).toBe(true);
        expect(r.text.length).toBeGreaterThan(0);
      } else {
        expect(r.ok).toBe(false);
        expect(r.error?.kind, r.error?.message).toBe(want);
        expect(r.error?.message.length).toBeGreaterThan(0);
      }
    });
    if (meta(name).killed_by_harness || meta(name).signal !== null) {
      it(`${name} killed by our timeout → timeout`, () => {
        expect(parse(name, { timedOut: true })).toMatchObject({ ok: false, error: { kind: "timeout" } });
      });
    }
  }
});

const ONE: Record<CliName, Tokens> = {
  claude: { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50 },
  // 1200 prompt tokens of which 300 cached; gemini's 7 thought tokens are billed as output.
  codex: { input: 900, output: 34, cacheRead: 300, cacheWrite: 0 },
  gemini: { input: 900, output: 41, cacheRead: 300, cacheWrite: 0 },
};
const twice = (t: Tokens): Tokens => ({
  input: 2 * t.input,
  output: 2 * t.output,
  cacheRead: 2 * t.cacheRead,
  cacheWrite: 2 * t.cacheWrite,
});

describe("tokens, cost, model and session of successful runs", () => {
  it("claude: the reported cost and the model behind the alias", () => {
    const r = parse("claude-json-success");
    expect(r).toMatchObject({
      text: "Done: created hello.txt",
      tokens: ONE.claude,
      costUsd: 0.002895,
      costSource: "reported",
      model: "claude-sonnet-5-5",
    });
    expect(r.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
  it("claude: two model turns of a tool run add up", () => {
    expect(parse("claude-json-tool-accept-edits").tokens).toEqual(twice(ONE.claude));
  });
  it("claude: a model it cannot price is priced from our table", () => {
    const r = parse("claude-json-unknown-model");
    expect(r).toMatchObject({ model: "my-proxy-model", costSource: "computed", tokens: ONE.claude });
    expect(r.costUsd).toBe(computeCost(prices, "my-proxy-model", ONE.claude));
    expect(r.costUsd).toBeCloseTo(
      (1200 * prices.default.input +
        34 * prices.default.output +
        300 * prices.default.cacheRead +
        50 * prices.default.cacheWrite) /
        1e6,
      10,
    );
  });
  it("claude: failures carry no cost", () => {
    expect(parse("claude-json-401")).toMatchObject({ costUsd: 0, costSource: "reported" });
  });
  it("codex: tokens without the cached ones in input, cost from the price table", () => {
    const r = parse("codex-jsonl-success");
    expect(r).toMatchObject({
      text: "Done: created hello.txt",
      tokens: ONE.codex,
      costSource: "computed",
      model: "gpt-5.5",
    });
    expect(r.costUsd).toBeCloseTo((900 * 1.25 + 300 * 0.125 + 34 * 10) / 1e6, 10);
    expect(r.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
  it("codex: a tool run sums both model calls and keeps the final message", () => {
    const r = parse("codex-jsonl-tool-workspace-write");
    expect(r).toMatchObject({ text: "Done: created hello.txt", tokens: twice(ONE.codex) });
  });
  it("codex: the unknown-model notice is not an error", () => {
    expect(parse("codex-jsonl-unknown-model")).toMatchObject({ ok: true, text: "Done: created hello.txt" });
  });
  it("codex: the last reconnect notice explains a timeout", () => {
    expect(parse("codex-jsonl-server-down", { timedOut: true }).error?.message).toMatch(/Reconnecting/);
  });
  it("gemini: tokens from stats, thoughts counted as output, cost from the price table", () => {
    const r = parse("gemini-json-success");
    expect(r).toMatchObject({
      text: "Done: created hello.txt",
      tokens: ONE.gemini,
      costSource: "computed",
      model: "gemini-2.5-flash",
    });
    expect(r.costUsd).toBeCloseTo((900 * 0.3 + 41 * 2.5 + 300 * 0.075) / 1e6, 10);
    expect(r.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
  it("gemini: a tool run sums both model calls", () => {
    expect(parse("gemini-json-tool-yolo").tokens).toEqual(twice(ONE.gemini));
  });
  it("gemini: the session id of a failed run is kept", () => {
    expect(parse("gemini-json-401").sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
