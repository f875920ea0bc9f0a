/**
 * The contract every adapter keeps with its REAL pinned CLI (one test file per CLI runs this, so the
 * three run in parallel; the cases of one CLI run concurrently, each with its own mock and repo).
 * The mock always reports input 1200 (300 of them cached), output 34, cache-write 50 (Anthropic),
 * reasoning 7; the expected figures below follow the token convention (src/tokens.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type CliName, type RunError, RunResult, type Tokens } from "@vault-mcp/contract";
import { afterAll, describe, expect, it } from "vitest";
import { REPLY } from "../../../test/mock-model-api/server.ts";
import { failedRun } from "../../src/jobs/build-result.ts";
import { computeCost } from "../../src/pricing.ts";
import { readUsage, settleCost } from "../../src/usage/killed-run.ts";
import { UsageTracker } from "../../src/usage/tracker.ts";
import { adapters, cleanupReal, MODELS, prices, runReal } from "./real-harness.ts";

export interface CliExpectations {
  /** Tokens of one model turn under our convention. */
  turn: Tokens;
  /** USD of one model turn (reported by claude, computed from prices.json for the others). */
  turnCost: number;
  costSource: RunResult["costSource"];
  /** The key variable in the profile env, to run without it. */
  keyVar: string;
  /** What an unreachable API ends as (codex never gives up by itself: our timeout ends it). */
  down: { kind: RunError["kind"]; timeoutMs: number };
}

const ENDPOINT = { claude: "/v1/messages", codex: "/v1/responses", gemini: ":streamGenerateContent" } as const;

const twice = (t: Tokens): Tokens => ({
  input: 2 * t.input,
  output: 2 * t.output,
  cacheRead: 2 * t.cacheRead,
  cacheWrite: 2 * t.cacheWrite,
});

function valid(r: RunResult): void {
  const check = RunResult.safeParse(r);
  expect(check.success, check.success ? "" : JSON.stringify(check.error.issues)).toBe(true);
}

export function describeRealCli(cli: CliName, x: CliExpectations): void {
  afterAll(cleanupReal);

  describe.concurrent(`${cli} (real pinned CLI against the mock model API)`, () => {
    it("success: ok, the answer, the mock's tokens, the right cost, one model request", async () => {
      // The prompt looks like a flag: it must still reach the model as the prompt.
      const { run, requests } = await runReal(cli, { scenario: "ok", prompt: "--version: create hello.txt" });
      valid(run);
      expect(run.error, JSON.stringify(run.error)).toBeUndefined();
      expect(run).toMatchObject({
        ok: true,
        cli,
        text: REPLY,
        tokens: x.turn,
        costSource: x.costSource,
        model: MODELS[cli],
        truncated: false,
      });
      expect(run.costUsd).toBeCloseTo(x.turnCost, 10);
      expect(run.sessionId).toBeTruthy();
      const calls = requests.filter((q) => q.method === "POST");
      expect(calls).toHaveLength(1);
      expect(calls[0]?.path.endsWith(ENDPOINT[cli])).toBe(true);
      expect(calls[0]?.model).toBe(MODELS[cli]);
      expect(calls[0]?.userText).toContain("--version: create hello.txt");
    });

    it("a prompt that reads as an option ('- fix the bug') reaches the model as the prompt, on stdin", async () => {
      const { run, requests, inv } = await runReal(cli, { scenario: "ok", prompt: "- fix the bug" });
      expect(run.error, JSON.stringify(run.error)).toBeUndefined();
      expect(run.text).toBe(REPLY);
      expect(inv.argv.some((a) => a.includes("fix the bug"))).toBe(false);
      const calls = requests.filter((q) => q.method === "POST");
      expect(calls).toHaveLength(1);
      // claude puts its own context blocks before the prompt, in the same message.
      expect(calls[0]?.userText.endsWith("- fix the bug")).toBe(true);
    });

    it("tool: the agent runs code in its worktree under our permission mode, then answers", async () => {
      const { run, requests, cwd } = await runReal(cli, { scenario: "tool" });
      valid(run);
      expect(run.error, JSON.stringify(run.error)).toBeUndefined();
      expect(run.text).toBe(REPLY);
      expect(existsSync(path.join(cwd, "hello.txt"))).toBe(true);
      expect(readFileSync(path.join(cwd, "hello.txt"), "utf8")).toBe("hello from the agent\n");
      const calls = requests.filter((q) => q.method === "POST");
      expect(calls.map((q) => q.toolResult?.ok ?? null)).toEqual([null, true]);
      expect(run.tokens).toEqual(twice(x.turn));
      expect(run.costUsd).toBeCloseTo(2 * x.turnCost, 10);
    });

    it("one pricing path: the same usage read back from its session log (a killed or cut-short run) costs what the run itself came to", async () => {
      const { run, home } = await runReal(cli, { scenario: "tool" });
      expect(run.error, JSON.stringify(run.error)).toBeUndefined();
      // What recovery.ts does with the home of a run a restart cut short, and runner.ts with a killed one.
      const usageLog = adapters[cli].usageLog("api_key", false);
      const read = await readUsage(usageLog ? new UsageTracker(usageLog, home, MODELS[cli]) : null);
      expect(read.kind).toBe("read");
      const side = { name: "p", cli, model: MODELS[cli], profile: "p", auth: "api_key", env: {} } as const;
      const cut = settleCost(failedRun(side, "interrupted", "cut short"), { read, killed: true, prices, boundUsd: 99 });
      expect(cut.tokens).toEqual(run.tokens);
      expect(cut.costUsd).toBeCloseTo(run.costUsd, 10);
      expect(cut.costSource).toBe("computed");
    });

    const failures: [scenario: string, kind: RunError["kind"]][] = [
      ["401", "auth"],
      ["429", "rate_limit"],
      ["500", "api"],
      ["drop", "api"],
    ];
    for (const [scenario, kind] of failures) {
      it(`${scenario} → ${kind}`, async () => {
        const { run } = await runReal(cli, { scenario });
        valid(run);
        expect(run.ok).toBe(false);
        expect(run.error?.kind, run.error?.message).toBe(kind);
        // A refused request costs nothing. (A dropped stream may: claude bills the input of a
        // message_start that arrived before the cut, depending on timing.)
        if (scenario !== "drop") expect(run.costUsd).toBe(0);
      });
    }

    it(`server down → ${x.down.kind}`, async () => {
      const { run } = await runReal(cli, { scenario: "down", timeoutMs: x.down.timeoutMs });
      valid(run);
      expect(run.ok).toBe(false);
      expect(run.error?.kind, run.error?.message).toBe(x.down.kind);
    });

    it("a model that never answers → timeout, whatever the exit code", async () => {
      const { run, outcome } = await runReal(cli, { scenario: "hang", timeoutMs: 2_500 });
      valid(run);
      expect(outcome.timedOut).toBe(true);
      expect(run).toMatchObject({ ok: false, error: { kind: "timeout" } });
    });

    it("no API key → auth, and no request reaches the model", async () => {
      const { run, requests } = await runReal(cli, { scenario: "ok", profileEnv: { [x.keyVar]: null } });
      valid(run);
      expect(run.ok).toBe(false);
      expect(run.error?.kind, run.error?.message).toBe("auth");
      expect(requests.filter((q) => q.method === "POST")).toHaveLength(0);
    });
  });
}

/** One turn's cost from the price table (what codex and gemini runs are charged). */
export function tableCost(model: string, t: Tokens): number {
  return computeCost(prices, model, t);
}
