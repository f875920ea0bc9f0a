/**
 * `npm start`'s local credentials: the executor, as a real process, reads EXECUTOR_ENV_FILE
 * (.vault/executor.env) itself, and the readiness report says what to add when nothing can run.
 */
import type { ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ExecutorHealth } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { ensureExecutorEnvFile, readinessReport } from "../../../scripts/executor-local.ts";
import { exited, type Harness, harness, spawnExecutor } from "../server/harness.ts";

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill("SIGTERM");
    await exited(c);
  }
  h?.cleanup();
  h = undefined;
});

const health = async (url: string) => ExecutorHealth.parse(await (await fetch(`${url}/health`)).json());

describe("EXECUTOR_ENV_FILE (npm start's .vault/executor.env)", () => {
  it("a fresh file is all comments, mode 0600: nothing can run, and the report says exactly what to add", async () => {
    h = harness();
    const file = path.join(h.dir, "executor.env");
    expect(ensureExecutorEnvFile(file)).toBe(true);
    expect(ensureExecutorEnvFile(file)).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // No key from the test's own environment: only what the file says.
    const ex = await spawnExecutor(h, { EXECUTOR_ENV_FILE: file, ANTHROPIC_API_KEY: "" });
    children.push(ex.child);
    const report = readinessReport(await health(ex.url), file);
    expect(report).toContain("sonnet        claude  api_key       missing: set ANTHROPIC_API_KEY");
    expect(report).toContain(`No profile can run: every job would fail at once. Add one of these to ${file}`);
    for (const line of [
      "ANTHROPIC_API_KEY=…  # sonnet, opus",
      "DEEPSEEK_API_KEY=…   # deepseek",
      "OPENAI_API_KEY=…     # codex",
      "CLAUDE_AUTH=subscription and CLAUDE_CODE_OAUTH_TOKEN=…",
    ])
      expect(report).toContain(line);
  });

  it("a key or a subscription token put in the file makes its profiles ready, without ever showing it", async () => {
    h = harness();
    const file = path.join(h.dir, "executor.env");
    ensureExecutorEnvFile(file);
    appendFileSync(file, "CLAUDE_AUTH=subscription\nCLAUDE_CODE_OAUTH_TOKEN='sk-ant-oat01-from-the-file'\n");
    const ex = await spawnExecutor(h, { EXECUTOR_ENV_FILE: file, ANTHROPIC_API_KEY: "" });
    children.push(ex.child);
    const hl = await health(ex.url);
    expect(hl.status).toBe("ok");
    expect(hl.profiles.sonnet).toMatchObject({ auth: "subscription", ready: true });
    expect(hl.profiles.opus).toMatchObject({ auth: "subscription", ready: true });
    expect(hl.profiles.deepseek).toMatchObject({ auth: "api_key", ready: false });
    const report = readinessReport(hl, file);
    expect(report).not.toContain("No profile can run");
    expect(report).toMatch(/sonnet +claude +subscription +ready/);
    expect(JSON.stringify(hl) + report + ex.output()).not.toContain("sk-ant-oat01-from-the-file");
    expect(readFileSync(file, "utf8")).toContain("sk-ant-oat01-from-the-file");
  });

  it("a file that cannot be read stops the executor with exit 2 and the reason", async () => {
    h = harness();
    await expect(spawnExecutor(h, { EXECUTOR_ENV_FILE: path.join(h.dir, "nope.env") })).rejects.toThrow(
      /exited 2: EXECUTOR_ENV_FILE=.*nope\.env cannot be read \(ENOENT\)/,
    );
  });
});
