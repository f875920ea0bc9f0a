/**
 * Budget inside a run, with the REAL pinned CLIs against the mock's `expensive` scenario (every turn
 * a tool call that costs dollars, so the agent never finishes by itself):
 *  - claude gets `--max-budget-usd` with the very value sent and stops itself (`error_max_budget_usd`);
 *  - codex and gemini are stopped by the executor once the usage they log while running, priced,
 *    passes the job's budget; the run ends `budget` and keeps the cost it ran up.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type CliName, JobView, type Tokens } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireCli } from "../../../test/clis/paths.ts";
import { type MockModelApi, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import type { Executor } from "../../src/executor.ts";
import { computeCost, loadPrices } from "../../src/pricing.ts";
import { type Harness, harness, job, liveProcesses, post, start, until } from "../server/harness.ts";
import { cleanupReal, runReal } from "./real-harness.ts";

let mock: MockModelApi;
let h: Harness;
let ex: Executor;
let url: string;
let profilesDir: string;

beforeAll(async () => {
  mock = await startMockModelApi({ toolCommand: "echo hi" });
  profilesDir = mkdtempSync(path.join(os.tmpdir(), "vault-budget-"));
  const file = path.join(profilesDir, "profiles.json");
  const s = (name: string) => `${mock.url}/s/${name}`;
  const claude = {
    cli: "claude",
    model: "claude-sonnet-5-5",
    env: { ANTHROPIC_BASE_URL: s("ok"), ANTHROPIC_API_KEY: "k" },
  };
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        deepseek: claude,
        sonnet: claude,
        // One tool call, then the model never answers again: killed at the job's timeout.
        opus: { ...claude, model: "claude-opus-5-5", env: { ...claude.env, ANTHROPIC_BASE_URL: s("tool-hang") } },
        "gemini-flash": {
          cli: "gemini",
          model: "gemini-2.5-flash",
          env: { GOOGLE_GEMINI_BASE_URL: s("expensive"), GEMINI_API_KEY: "g" },
        },
        "gemini-pro": {
          cli: "gemini",
          model: "gemini-2.5-pro",
          env: { GOOGLE_GEMINI_BASE_URL: s("tool-hang"), GEMINI_API_KEY: "g" },
        },
        codex: { cli: "codex", model: "gpt-5.5", env: { CODEX_BASE_URL: `${s("expensive")}/v1`, CODEX_API_KEY: "sk" } },
      },
      consensus: ["sonnet", "codex"],
      direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" },
    }),
  );
  h = harness({
    PROFILES_FILE: file,
    CLAUDE_BIN: requireCli("claude"),
    CODEX_BIN: requireCli("codex"),
    GEMINI_BIN: requireCli("gemini"),
    KILL_GRACE_MS: "1000",
  });
  const s2 = await start(h, { env: {} });
  ex = s2.ex;
  url = s2.url;
}, 30_000);

afterAll(async () => {
  await ex?.shutdown();
  cleanupReal();
  h?.cleanup();
  await mock?.close();
  rmSync(profilesDir, { recursive: true, force: true });
});

describe.concurrent("budget inside a run (real CLIs, the mock's expensive scenario)", () => {
  it("claude: --max-budget-usd is the value sent; the run stops itself and ends `budget`", async () => {
    // ≈ $0.44 per expensive sonnet turn: claude stops after the first.
    const { run, inv, requests } = await runReal("claude", { scenario: "expensive", maxBudgetUsd: 0.25 });
    const i = inv.argv.indexOf("--max-budget-usd");
    expect(inv.argv[i + 1]).toBe("0.25");
    expect(run.error?.kind, run.error?.message).toBe("budget");
    expect(run.error?.message).toMatch(/budget/i);
    // Claude's own figure for that turn, over the budget, is kept.
    expect(run.costUsd).toBeGreaterThan(0.25);
    expect(requests.filter((q) => q.method === "POST" && q.path.endsWith("/messages")).length).toBeLessThanOrEqual(2);
  });

  // About two expensive turns each (wire.ts: ≈ $0.15 per codex turn, ≈ $0.04 per gemini turn).
  const budgets: [CliName, number][] = [
    ["codex", 0.2],
    ["gemini", 0.05],
  ];
  for (const [cli, budget] of budgets) {
    it(`${cli}: the executor stops the run once its logged usage passes the budget`, async () => {
      const before = mock.requests().length;
      const res = await post(
        `${url}/execute`,
        job({ profile: undefined, executor: cli, maxBudgetUsd: budget, timeoutMs: 40_000 }),
      );
      const view = JobView.parse(await res.json());
      expect(view.status, JSON.stringify(view.result?.run)).toBe("failed");
      const run = view.result?.run;
      expect(run?.cli).toBe(cli);
      expect(run?.error?.kind, run?.error?.message).toBe("budget");
      expect(run?.error?.message).toContain(`over this run's budget of $${budget}`);
      // What it spent before the stop is counted.
      expect(view.result?.costUsd).toBeGreaterThan(budget);
      expect(run?.costSource).toBe("computed");
      // Stopped within a few turns (the usage is read every 250 ms; the mock answers in milliseconds),
      // not at the job timeout.
      const turns = mock
        .requests()
        .slice(before)
        .filter((q) => q.method === "POST" && q.provider === (cli === "codex" ? "openai" : "gemini"));
      expect(turns.length).toBeGreaterThan(0);
      expect(turns.length).toBeLessThan(10);
      // Nothing of the run is left (codex's sandboxed commands may take a moment to follow it).
      await until(() => liveProcesses(h.dir, cli).length === 0, 5_000, `no ${cli} process left`).catch(() => {
        const live = liveProcesses(h.dir, cli).map((p) => readFileSync(`/proc/${p}/cmdline`, "utf8"));
        throw new Error(`${cli} processes left after the job: ${live.join(" | ")}`);
      });
    });
  }

  // The session-log readers against what the real CLIs write (claude's transcript, gemini's chat log):
  // one model response (the mock's usage), then a hang until the timeout.
  const oneTurn: [string, string, Tokens][] = [
    ["opus", "claude-opus-5-5", { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50 }],
    ["gemini-pro", "gemini-2.5-pro", { input: 900, output: 41, cacheRead: 300, cacheWrite: 0 }],
  ];
  for (const [profile, model, tokens] of oneTurn) {
    it(`${profile}: a run killed at its timeout keeps the cost its CLI had logged`, async () => {
      const res = await post(`${url}/execute`, job({ profile, timeoutMs: 8_000 }));
      const view = JobView.parse(await res.json());
      const run = view.result?.run;
      expect(run?.error?.kind, run?.error?.message).toBe("timeout");
      // No result JSON from a killed CLI: the usage comes from its session log, priced by our table.
      expect(run).toMatchObject({ costSource: "computed", tokens });
      expect(view.result?.costUsd).toBe(computeCost(loadPrices(), model, tokens));
      expect(view.result?.costUsd).toBeGreaterThan(0);
    });
  }
});
