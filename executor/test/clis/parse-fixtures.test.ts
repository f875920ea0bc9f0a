/**
 * Every captured output of the real CLIs (see fixtures/: stdout, stderr and exit status exactly as
 * the pinned versions printed them against the mock model API) maps to the right normalized result.
 * The mock always reports input 1200, output 34, cache-read 300, cache-write 50.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { RunError } from "@vault-mcp/contract";
import { makeAdapters } from "../../src/clis/index.ts";
import type { ProcessOutcome } from "../../src/interfaces.ts";
import { computeCost, loadPrices } from "../../src/pricing.ts";

const dir = path.join(import.meta.dirname, "fixtures");
const prices = loadPrices();
const adapters = makeAdapters(prices);

function outcome(name: string, over: Partial<ProcessOutcome> = {}): ProcessOutcome {
  const stdoutFile = ["json", "jsonl"].map((e) => path.join(dir, `${name}.${e}`)).find((f) => existsSync(f));
  const meta = JSON.parse(readFileSync(path.join(dir, `${name}.meta.json`), "utf8")) as { exit_code: number | null; signal: string | null; wall_ms: number };
  return {
    exitCode: meta.exit_code,
    signal: meta.signal,
    stdout: stdoutFile ? readFileSync(stdoutFile, "utf8") : "",
    stderr: readFileSync(path.join(dir, `${name}.stderr.txt`), "utf8"),
    stdoutTruncated: false,
    stderrTruncated: false,
    timedOut: false,
    aborted: false,
    spawnError: null,
    durationMs: meta.wall_ms,
    pid: 1,
    ...over,
  };
}

const MOCK_TOKENS = { input: 1200, output: 34, cacheRead: 300 };

describe("claude adapter", () => {
  it("parses success with the reported cost and tokens", () => {
    const r = adapters.claude.parse(outcome("claude-json-success"), { model: "sonnet", cli: "claude" });
    expect(r).toMatchObject({ ok: true, text: "Done: created hello.txt", costUsd: 0.002895, costSource: "reported", model: "claude-sonnet-5-5", tokens: { ...MOCK_TOKENS, cacheWrite: 50 } });
    expect(r.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.error).toBeUndefined();
  });
  const cases: [string, RunError["kind"]][] = [
    ["claude-json-401", "auth"],
    ["claude-json-429", "rate_limit"],
    ["claude-json-500", "api"],
    ["claude-json-server-down", "api"],
    ["claude-json-stream-dropped", "api"],
    ["claude-json-no-api-key", "auth"],
    ["claude-json-max-budget-exceeded", "budget"],
    ["claude-json-max-turns-1", "budget"],
  ];
  for (const [name, kind] of cases) {
    it(`${name} → ${kind}`, () => {
      const r = adapters.claude.parse(outcome(name), { model: "sonnet", cli: "claude" });
      expect(r.ok).toBe(false);
      expect(r.error?.kind).toBe(kind);
    });
  }
  it("a run killed by our timeout is a timeout, whatever it printed", () => {
    const r = adapters.claude.parse(outcome("claude-json-timeout-sigterm", { timedOut: true }), { model: "sonnet", cli: "claude" });
    expect(r.error?.kind).toBe("timeout");
  });
  it("SIGTERM without our timeout and no output is a crash", () => {
    const r = adapters.claude.parse(outcome("claude-json-timeout-sigterm"), { model: "sonnet", cli: "claude" });
    expect(r.error?.kind).toBe("crash");
  });
});

describe("codex adapter", () => {
  it("parses success and computes the cost from the price table", () => {
    const r = adapters.codex.parse(outcome("codex-jsonl-success"), { model: "gpt-5.5", cli: "codex" });
    expect(r).toMatchObject({ ok: true, text: "Done: created hello.txt", costSource: "computed", tokens: { ...MOCK_TOKENS, cacheWrite: 0 } });
    expect(r.costUsd).toBe(computeCost(prices, "gpt-5.5", r.tokens, true));
    // 900 uncached × $1.25 + 300 cached × $0.125 + 34 × $10, per million.
    expect(r.costUsd).toBeCloseTo((900 * 1.25 + 300 * 0.125 + 34 * 10) / 1e6, 10);
  });
  const cases: [string, RunError["kind"]][] = [
    ["codex-jsonl-401", "auth"],
    ["codex-jsonl-429", "rate_limit"],
    ["codex-jsonl-500", "api"],
    ["codex-jsonl-stream-dropped", "api"],
    ["codex-jsonl-no-api-key", "auth"],
  ];
  for (const [name, kind] of cases) {
    it(`${name} → ${kind}`, () => expect(adapters.codex.parse(outcome(name), { model: "gpt-5.5", cli: "codex" }).error?.kind).toBe(kind));
  }
  it("server down never ends by itself: only our timeout does, and it reads timeout", () => {
    const r = adapters.codex.parse(outcome("codex-jsonl-server-down", { timedOut: true }), { model: "gpt-5.5", cli: "codex" });
    expect(r).toMatchObject({ ok: false, error: { kind: "timeout" } });
  });
  it("a turn that never completed is not a success", () => {
    const r = adapters.codex.parse(outcome("codex-jsonl-timeout-sigterm"), { model: "gpt-5.5", cli: "codex" });
    expect(r.ok).toBe(false);
  });
});

describe("gemini adapter", () => {
  it("parses success with tokens from stats and a computed cost", () => {
    const r = adapters.gemini.parse(outcome("gemini-json-success"), { model: "gemini-2.5-flash", cli: "gemini" });
    expect(r).toMatchObject({ ok: true, text: "Done: created hello.txt", model: "gemini-2.5-flash", tokens: { ...MOCK_TOKENS, cacheWrite: 0 } });
    expect(r.costUsd).toBeCloseTo((900 * 0.3 + 300 * 0.075 + 34 * 2.5) / 1e6, 10);
  });
  const cases: [string, RunError["kind"]][] = [
    ["gemini-json-401", "auth"],
    ["gemini-json-429", "rate_limit"],
    ["gemini-json-500", "api"],
    ["gemini-json-server-down", "api"],
    ["gemini-json-stream-dropped", "api"],
    ["gemini-json-no-api-key", "auth"],
  ];
  for (const [name, kind] of cases) {
    it(`${name} → ${kind}`, () => expect(adapters.gemini.parse(outcome(name), { model: "gemini-2.5-flash", cli: "gemini" }).error?.kind).toBe(kind));
  }
  it("exit 0 after our SIGTERM is a timeout, not a success", () => {
    const r = adapters.gemini.parse(outcome("gemini-json-timeout-group-sigterm", { timedOut: true }), { model: "gemini-2.5-flash", cli: "gemini" });
    expect(r).toMatchObject({ ok: false, error: { kind: "timeout" } });
  });
});

describe("any adapter", () => {
  it("a missing executable is a crash with the reason", () => {
    for (const a of Object.values(adapters)) {
      const r = a.parse(outcome("claude-json-success", { stdout: "", stderr: "", exitCode: null, spawnError: "ENOENT: spawn claude ENOENT" }), { model: "m", cli: a.name });
      expect(r.error?.kind, a.name).toBe("crash");
      expect(r.error?.message).toContain("ENOENT");
    }
  });
  it("garbage on stdout with exit 0 is bad_output", () => {
    for (const a of Object.values(adapters)) {
      const r = a.parse(outcome("claude-json-success", { stdout: "not json at all", stderr: "" , exitCode: 0 }), { model: "m", cli: a.name });
      expect(r.error?.kind, a.name).toBe("bad_output");
    }
  });
});
