/**
 * Runs a REAL pinned CLI through its adapter and the executor's process runner against a fresh mock
 * model API, in a fresh git repo and home (so tests can run concurrently). Only the model is fake.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import type { AuthMode, CliName, RunResult } from "@vault-mcp/contract";
import { requireCli } from "../../../test/clis/paths.ts";
import { type MockModelApi, type MockRequest, startMockModelApi } from "../../../test/mock-model-api/server.ts";
import { makeAdapters } from "../../src/clis/index.ts";
import type { CliInvocation, ProcessOutcome } from "../../src/interfaces.ts";
import { loadPrices } from "../../src/pricing.ts";
import { runProcess } from "../../src/process/run.ts";
import { makeRepo } from "../worktree/helpers.ts";

export const prices = loadPrices();
export const adapters = makeAdapters(prices);

/** The models the pinned CLIs were captured with. */
export const MODELS: Record<CliName, string> = {
  claude: "claude-sonnet-5-5",
  codex: "gpt-5.5",
  gemini: "gemini-2.5-flash",
};

/** A command that really runs code (acceptEdits alone would deny it in claude) and writes a file. */
export const TOOL_COMMAND = `node -e "require('fs').writeFileSync('hello.txt', 'hello from the agent\\n')"`;

export interface RealRun {
  run: RunResult;
  outcome: ProcessOutcome;
  inv: CliInvocation;
  requests: MockRequest[];
  cwd: string;
  /** The run's home (its session logs are there). */
  home: string;
}

export interface RealRunOptions {
  /** A mock scenario, or "down" for a closed port. */
  scenario: string;
  prompt?: string;
  model?: string;
  timeoutMs?: number;
  /** Extra profile env (e.g. to drop the key). */
  profileEnv?: Record<string, string | null>;
  auth?: AuthMode;
  /** The CLI's login home (subscription runs). */
  loginHome?: string;
  maxBudgetUsd?: number;
  /** A mock the test started (and closes); default: a fresh one for this run. */
  mock?: MockModelApi;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export function profileEnv(cli: CliName, base: string): Record<string, string> {
  if (cli === "claude")
    return { CLAUDE_BIN: requireCli("claude"), ANTHROPIC_BASE_URL: base, ANTHROPIC_API_KEY: "sk-ant-mock" };
  if (cli === "codex")
    return { CODEX_BIN: requireCli("codex"), CODEX_BASE_URL: `${base}/v1`, CODEX_API_KEY: "sk-mock" };
  return { GEMINI_BIN: requireCli("gemini"), GOOGLE_GEMINI_BASE_URL: base, GEMINI_API_KEY: "mock-gemini-key" };
}

export async function runReal(cli: CliName, o: RealRunOptions): Promise<RealRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `vault-real-${cli}-`));
  dirs.add(dir);
  const mock = o.mock ?? (await startMockModelApi({ toolCommand: TOOL_COMMAND, slowMs: 200 }));
  const seen = mock.requests().length;
  try {
    const cwd = makeRepo(dir, "repo");
    const home = path.join(dir, "home");
    mkdirSync(home);
    const base = o.scenario === "down" ? `http://127.0.0.1:${await closedPort()}` : `${mock.url}/s/${o.scenario}`;
    const env: Record<string, string> = profileEnv(cli, base);
    for (const [k, v] of Object.entries(o.profileEnv ?? {})) {
      if (v === null) delete env[k];
      else env[k] = v;
    }
    const model = o.model ?? MODELS[cli];
    const adapter = adapters[cli];
    const inv = await adapter.prepare({
      prompt: o.prompt ?? "Create hello.txt",
      model,
      cwd,
      home,
      profileEnv: env,
      auth: o.auth ?? "api_key",
      loginHome: o.loginHome ?? path.join(dir, "no-login"),
      ...(o.maxBudgetUsd !== undefined ? { maxBudgetUsd: o.maxBudgetUsd } : {}),
    });
    const outcome = await runProcess({
      argv: inv.argv,
      cwd,
      env: inv.env,
      stdin: inv.stdin,
      timeoutMs: o.timeoutMs ?? 45_000,
      killGraceMs: 1_000,
    });
    const run = adapter.parse(outcome, { model, cli });
    return { run, outcome, inv, requests: mock.requests().slice(seen), cwd, home };
  } finally {
    if (!o.mock) await mock.close();
  }
}

const dirs = new Set<string>();

/** Removes every run's repo and home (the tests read the repo after the run, so not earlier). */
export function cleanupReal(): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}
