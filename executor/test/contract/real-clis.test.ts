/**
 * Contract tests: the REAL pinned claude, codex and gemini CLIs, run through our adapters and
 * process runner against the local mock model API. Only the model is fake; it speaks each
 * provider's real wire format. Every scenario must map to the right normalized result, with the
 * tokens the mock sent and the cost they imply.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliName, RunError, RunResult } from "@vault-mcp/contract";
import { cliPaths } from "../../../test/clis/paths.ts";
import { startMockModelApi, USAGE, type MockModelApi } from "../../../test/mock-model-api/server.ts";
import { makeAdapters } from "../../src/clis/index.ts";
import { computeCost, loadPrices } from "../../src/pricing.ts";
import { runProcess } from "../../src/process/run.ts";
import { makeRepo } from "../server/harness.ts";

const prices = loadPrices();
const adapters = makeAdapters(prices);
let mock: MockModelApi;
let dir: string;
let runs = 0;

beforeAll(async () => {
  for (const [name, p] of Object.entries(cliPaths)) if (!p) throw new Error(`the pinned ${name} CLI is not installed: run npm test (it installs test/clis)`);
  mock = await startMockModelApi();
  dir = mkdtempSync(path.join(os.tmpdir(), "vault-contract-"));
});
afterAll(async () => {
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

const MODELS: Record<CliName, string> = { claude: "claude-sonnet-5-5", codex: "gpt-5.5", gemini: "gemini-2.5-flash" };

function profileEnv(cli: CliName, base: string): Record<string, string> {
  if (cli === "claude") return { CLAUDE_BIN: cliPaths.claude as string, ANTHROPIC_BASE_URL: base, ANTHROPIC_API_KEY: "sk-ant-mock" };
  if (cli === "codex") return { CODEX_BIN: cliPaths.codex as string, CODEX_BASE_URL: `${base}/v1`, CODEX_API_KEY: "sk-mock" };
  return { GEMINI_BIN: cliPaths.gemini as string, GOOGLE_GEMINI_BASE_URL: base, GEMINI_API_KEY: "mock-gemini-key" };
}

async function runCli(cli: CliName, scenario: string, timeoutMs = 60_000): Promise<RunResult> {
  runs += 1;
  const repos = path.join(dir, `r${runs}`);
  const cwd = makeRepo(repos, "w");
  const home = path.join(dir, `h${runs}`);
  mkdirSync(home);
  const base = scenario === "down" ? "http://127.0.0.1:9" : `${mock.url}/s/${scenario}`;
  const adapter = adapters[cli];
  const inv = await adapter.prepare({ prompt: "Create hello.txt", model: MODELS[cli], cwd, home, profileEnv: profileEnv(cli, base) });
  const outcome = await runProcess({ argv: inv.argv, cwd, env: inv.env, timeoutMs, killGraceMs: 1000 });
  return adapter.parse(outcome, { model: MODELS[cli], cli });
}

const FAILURES: [string, RunError["kind"]][] = [
  ["401", "auth"],
  ["429", "rate_limit"],
  ["500", "api"],
  ["drop", "api"],
];

for (const cli of ["claude", "codex", "gemini"] as const) {
  describe(`${cli} (real CLI)`, () => {
    it("success: ok, the mock's tokens, and the right cost", async () => {
      const r = await runCli(cli, "ok");
      expect(r.error, JSON.stringify(r.error)).toBeUndefined();
      expect(r.ok).toBe(true);
      expect(r.text).toContain("Done: created hello.txt");
      expect(r.tokens.input).toBe(USAGE.input);
      expect(r.tokens.output).toBe(USAGE.output);
      expect(r.tokens.cacheRead).toBe(USAGE.cacheRead);
      if (cli === "claude") {
        expect(r.tokens.cacheWrite).toBe(USAGE.cacheWrite);
        expect(r.costSource).toBe("reported");
        expect(r.costUsd).toBeGreaterThan(0);
      } else {
        expect(r.costSource).toBe("computed");
        expect(r.costUsd).toBe(computeCost(prices, r.model, r.tokens, true));
        expect(r.costUsd).toBeGreaterThan(0);
      }
    });

    for (const [scenario, kind] of FAILURES) {
      it(`${scenario} → ${kind}`, async () => {
        const r = await runCli(cli, scenario);
        expect(r.ok).toBe(false);
        expect(r.error?.kind, r.error?.message).toBe(kind);
      });
    }

    it("server down → a clear failure within the timeout (codex never exits by itself: timeout)", async () => {
      const r = await runCli(cli, "down", 5_000);
      expect(r.ok).toBe(false);
      expect(r.error?.kind).toBe(cli === "codex" ? "timeout" : "api");
    });
  });
}
