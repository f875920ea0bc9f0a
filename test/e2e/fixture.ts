/**
 * The real stack as processes for end-to-end tests: wrangler dev (Worker, Workflows, D1, KV) and the
 * executor (scripts/stack.ts, the same code `npm start` runs), the real agent CLIs, and the mock
 * model API in place of the model providers. Profiles point each rung at a mock scenario.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { freePorts, ROOT, type RunningStack, type StackOptions, startStack } from "../../scripts/stack.ts";
import { cliPaths } from "../clis/paths.ts";
import { type MockModelApi, type MockModelApiOptions, startMockModelApi } from "../mock-model-api/server.ts";

export interface E2E {
  stack: RunningStack;
  mock: MockModelApi;
  dir: string;
  token: string;
  mcp(): Promise<Client>;
  api(pathname: string, init?: RequestInit): Promise<Response>;
  d1(sql: string): void;
  /** `wrangler <args> --local --port <worker port>` against this stack; its stdout. */
  wrangler(args: string[]): string;
  stop(): Promise<void>;
}

/** Which mock scenario each profile talks to (ok, 500, hang, slow…). */
export type Scenarios = Partial<
  Record<"deepseek" | "gemini-flash" | "gemini-pro" | "sonnet" | "opus" | "codex", string>
>;

export function writeProfiles(file: string, mockUrl: string, sc: Scenarios): void {
  const url = (p: keyof Scenarios) => `${mockUrl}/s/${sc[p] ?? "ok"}`;
  const claude = (p: keyof Scenarios, model: string) => ({
    cli: "claude",
    model,
    env: { ANTHROPIC_BASE_URL: url(p), ANTHROPIC_API_KEY: "sk-ant-mock" },
  });
  const gemini = (p: keyof Scenarios, model: string) => ({
    cli: "gemini",
    model,
    env: { GOOGLE_GEMINI_BASE_URL: url(p), GEMINI_API_KEY: "mock-key" },
  });
  // The executor (root) reads it; agents need not, so it is as private as any file of the stack.
  writeFileSync(
    file,
    JSON.stringify({
      profiles: {
        deepseek: claude("deepseek", "deepseek-chat"),
        "gemini-flash": gemini("gemini-flash", "gemini-2.5-flash"),
        "gemini-pro": gemini("gemini-pro", "gemini-2.5-pro"),
        sonnet: claude("sonnet", "claude-sonnet-5-5"),
        opus: claude("opus", "claude-opus-5-5"),
        codex: {
          cli: "codex",
          model: "gpt-5.5",
          env: { CODEX_BASE_URL: `${url("codex")}/v1`, CODEX_API_KEY: "sk-mock" },
        },
      },
      consensus: ["sonnet", "codex"],
      direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" },
    }),
    { mode: 0o600 },
  );
}

/** A stack on ports the kernel says are free, so suites, checkouts and a running `npm start` never collide. */
export async function startE2E(
  scenarios: Scenarios,
  workerVars: Record<string, string> = {},
  executorEnv: Record<string, string> = {},
  stackOptions: Pick<StackOptions, "reconcileEveryMs" | "executors" | "pool"> = {},
  mockOptions: MockModelApiOptions = {},
): Promise<E2E> {
  for (const [name, p] of Object.entries(cliPaths))
    if (!p) throw new Error(`the pinned ${name} CLI is missing; npm test installs test/clis`);
  // A start-up slower than a minute says where it is and what the stack last printed (a suite's
  // hook timeout alone says nothing), and the lines stay quiet otherwise.
  const began = Date.now();
  const phases: string[] = [];
  const mark = (phase: string) => phases.push(`${phase} +${Date.now() - began} ms`);
  const recent: string[] = [];
  const keep = (src: string, line: string) => {
    recent.push(`[${src}] ${line}`);
    if (recent.length > 40) recent.shift();
  };
  const watchdog = setTimeout(
    () =>
      process.stderr.write(
        `startE2E is slow (${Date.now() - began} ms): ${phases.join(", ")}; the stack's last lines:\n${recent.join("\n")}\n`,
      ),
    60_000,
  );
  watchdog.unref();
  const [worker, inspector, ...executorPorts] = await freePorts(2 + (stackOptions.executors ?? 1));
  mark("ports");
  const executor = executorPorts[0];
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-e2e-"));
  // Searchable: as root the CLIs run as agent identities, which must reach their worktree below it.
  chmodSync(dir, 0o711);
  const mock = await startMockModelApi(mockOptions);
  mark("mock model API");
  const profilesFile = path.join(dir, "profiles.json");
  writeProfiles(profilesFile, mock.url, scenarios);
  const stack = await startStack({
    workerPort: worker as number,
    executorPort: executor as number,
    inspectorPort: inspector as number,
    stateDir: path.join(dir, "state"),
    secretsFile: path.join(dir, "secrets.env"),
    executorEnv: {
      PROFILES_FILE: profilesFile,
      CLAUDE_BIN: cliPaths.claude as string,
      CODEX_BIN: cliPaths.codex as string,
      GEMINI_BIN: cliPaths.gemini as string,
      REPO_ALLOWLIST: "demo",
      LOG_LEVEL: "warn",
      KILL_GRACE_MS: "1000",
      ...executorEnv,
    },
    workerVars: { JOB_TIMEOUT_MS: "20000", ...workerVars },
    agentIdentities: "ephemeral",
    executorPorts,
    ...stackOptions,
    log: process.env.E2E_VERBOSE ? (src, line) => process.stderr.write(`[${src}] ${line}\n`) : keep,
  }).finally(() => clearTimeout(watchdog));
  const token = stack.secrets.VAULT_AUTH_TOKEN;
  return {
    stack,
    mock,
    dir,
    token,
    async mcp() {
      const transport = new StreamableHTTPClientTransport(new URL(`${stack.workerUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      const client = new Client({ name: "e2e", version: "1.0.0" });
      await client.connect(transport);
      return client;
    },
    api(pathname, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${token}`);
      if (init.body) headers.set("content-type", "application/json");
      return fetch(`${stack.workerUrl}${pathname}`, { ...init, headers });
    },
    d1(sql) {
      const r = spawnSync(
        path.join(ROOT, "node_modules", ".bin", "wrangler"),
        ["d1", "execute", "DB", "--local", "--persist-to", path.join(dir, "state", "wrangler"), "--command", sql],
        {
          cwd: ROOT,
          env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
          encoding: "utf8",
        },
      );
      if (r.status !== 0) throw new Error(`d1 execute failed: ${r.stderr}`);
    },
    wrangler(args) {
      const r = spawnSync(
        path.join(ROOT, "node_modules", ".bin", "wrangler"),
        [...args, "--local", "--port", new URL(stack.workerUrl).port],
        {
          cwd: ROOT,
          env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
          encoding: "utf8",
        },
      );
      if (r.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      await stack.stop();
      await mock.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitState(
  e: E2E,
  taskId: string,
  timeoutMs = 60_000,
): Promise<{ status: string; result?: string; flags: string[]; costUsd: number; error?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await (await e.api(`/api/tasks/${taskId}/state`)).json()) as {
      status: string;
      result?: string;
      flags: string[];
      costUsd: number;
      error?: string;
    };
    if (!["running", "init"].includes(s.status) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 250));
  }
}
