import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MAX_JOB_REQUEST_BYTES } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { parseEnvFile, withEnvFile } from "../../src/env-file.ts";
import { format, log, setLogLevel, setLogSink } from "../../src/log.ts";

const secrets = { EXECUTOR_SECRET: "executor-secret-0123456789", CALLBACK_SECRET: "callback-secret-0123456789" };

describe("loadConfig", () => {
  it("defaults: loopback:28788, 2 executors, queue 8, 180 s jobs; dirs under DATA_DIR", () => {
    const c = loadConfig({ ...secrets, DATA_DIR: "/tmp/vx" });
    expect(c).toMatchObject({
      HOST: "127.0.0.1",
      PORT: 28788,
      MAX_EXECUTORS: 2,
      MAX_QUEUE: 8,
      DEFAULT_TIMEOUT_MS: 180_000,
      LOG_LEVEL: "info",
      REPOS_DIR: "/tmp/vx/repos",
      WORKTREES_DIR: "/tmp/vx/worktrees",
      REPO_ALLOWLIST: [],
      LOGINS_DIR: "/tmp/vx/logins",
      JOB_RETENTION_DAYS: 30,
      // Every valid job fits: the contract's bound on a JobRequest's JSON.
      MAX_BODY_BYTES: MAX_JOB_REQUEST_BYTES,
      AGENT_SANDBOX: "on",
      AGENT_USER_PREFIX: "vault-agent-",
    });
  });

  it("reads numbers, lists and paths; an empty value counts as unset", () => {
    const c = loadConfig({
      ...secrets,
      PORT: "0",
      MAX_EXECUTORS: "4",
      REPO_ALLOWLIST: " a, b ,,c",
      MAX_QUEUE: "",
      CLAUDE_BIN: "/x/claude",
      AGENT_BLOCK_PORTS: "28787, 29229",
    });
    expect(c).toMatchObject({
      PORT: 0,
      MAX_EXECUTORS: 4,
      REPO_ALLOWLIST: ["a", "b", "c"],
      MAX_QUEUE: 8,
      CLAUDE_BIN: "/x/claude",
      AGENT_BLOCK_PORTS: [28787, 29229],
    });
    expect(loadConfig(secrets).AGENT_BLOCK_PORTS).toEqual([]);
  });

  it("names each bad variable and says how to fix it", () => {
    const fail = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error("no error");
    };
    expect(fail({})).toMatch(/EXECUTOR_SECRET is required: the x-auth-token .*openssl rand -hex 24/);
    expect(fail({})).toMatch(/CALLBACK_SECRET is required/);
    expect(fail({ ...secrets, EXECUTOR_SECRET: "short" })).toMatch(/EXECUTOR_SECRET must be at least 16 characters/);
    expect(fail({ ...secrets, PORT: "http" })).toMatch(/PORT must be a whole number/);
    expect(fail({ ...secrets, MAX_EXECUTORS: "0" })).toMatch(/MAX_EXECUTORS must be at least 1/);
    expect(fail({ ...secrets, LOG_LEVEL: "loud" })).toMatch(/LOG_LEVEL must be one of debug, info, warn, error/);
    // The sandbox goes off only when asked for in so many words.
    expect(fail({ ...secrets, AGENT_SANDBOX: "no" })).toMatch(/AGENT_SANDBOX must be on or off/);
    expect(fail({ ...secrets, AGENT_USER_PREFIX: "Agents/" })).toMatch(
      /AGENT_USER_PREFIX must be the start of a system user name/,
    );
    for (const ports of ["http", "70000", "0"])
      expect(fail({ ...secrets, AGENT_BLOCK_PORTS: ports })).toMatch(/AGENT_BLOCK_PORTS\.0 must be TCP ports/);
    expect(fail({ ...secrets, DEFAULT_TIMEOUT_MS: "9000", MAX_TIMEOUT_MS: "5000" })).toMatch(
      /DEFAULT_TIMEOUT_MS \(9000\) must not exceed MAX_TIMEOUT_MS \(5000\)/,
    );
    // A body cap below what a valid job can take would refuse valid jobs.
    expect(fail({ ...secrets, MAX_BODY_BYTES: String(256 * 1024) })).toMatch(
      new RegExp(`MAX_BODY_BYTES must be at least ${MAX_JOB_REQUEST_BYTES}`),
    );
    // The message never echoes a secret's value.
    expect(fail({ ...secrets, EXECUTOR_SECRET: "tooshortvalue" })).not.toContain("tooshortvalue");
  });
});

describe("EXECUTOR_ENV_FILE", () => {
  it("reads KEY=value lines (comments, export, quotes); the process's own non-empty values win", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-envfile-"));
    try {
      const file = path.join(dir, "executor.env");
      writeFileSync(
        file,
        "# local keys\nANTHROPIC_API_KEY=sk-file\nexport CLAUDE_AUTH='subscription'\nEMPTY_IN_ENV=\"from file\"\n\n",
        { mode: 0o600 },
      );
      const { env, groupReadable } = withEnvFile({
        EXECUTOR_ENV_FILE: file,
        ANTHROPIC_API_KEY: "sk-shell",
        EMPTY_IN_ENV: "",
      });
      expect(env).toMatchObject({
        ANTHROPIC_API_KEY: "sk-shell",
        CLAUDE_AUTH: "subscription",
        EMPTY_IN_ENV: "from file",
      });
      expect(groupReadable).toBe(false);
      expect(withEnvFile({ PATH: "/bin" }).env).toEqual({ PATH: "/bin" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a bad line or a missing file is a ConfigError that names the line, never its content", () => {
    expect(() => parseEnvFile("OK=1\nsk-ant-secret-value\n", "f.env")).toThrow(ConfigError);
    expect(() => parseEnvFile("OK=1\nsk-ant-secret-value\n", "f.env")).toThrow(/f\.env line 2 is not KEY=value/);
    expect(() => parseEnvFile("OK=1\nsk-ant-secret-value\n", "f.env")).not.toThrow(/secret/);
    expect(() => withEnvFile({ EXECUTOR_ENV_FILE: "/nonexistent/executor.env" })).toThrow(/cannot be read \(ENOENT\)/);
  });
});

describe("log", () => {
  it("one JSON line per event with ts, level, event and the fields; below the level nothing; credentials redacted", () => {
    const lines: string[] = [];
    setLogSink((l) => lines.push(l));
    try {
      setLogLevel("info");
      log("debug", "hidden", { jobId: "j-1" });
      log("info", "job_started", { jobId: "j-1", EXECUTOR_SECRET: "s3cret", apiKey: "k", tokens: 5 });
      expect(lines).toHaveLength(1);
      expect(lines[0]?.endsWith("\n")).toBe(true);
      const rec = JSON.parse(lines[0] as string) as Record<string, unknown>;
      expect(rec).toMatchObject({
        level: "info",
        event: "job_started",
        jobId: "j-1",
        EXECUTOR_SECRET: "[redacted]",
        apiKey: "[redacted]",
        tokens: 5,
      });
      expect(Number.isNaN(Date.parse(String(rec.ts)))).toBe(false);
      expect(format("warn", "x").split("\n")).toHaveLength(2);
    } finally {
      setLogSink((l) => process.stdout.write(l));
    }
  });
});
