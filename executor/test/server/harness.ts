import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ExecutorConfig, loadConfig } from "../../src/config.ts";
import { createExecutor, type Executor, type ExecutorOverrides } from "../../src/executor.ts";
import { makeRepo } from "../worktree/helpers.ts";

export { makeRepo };

export const SECRET = "executor-secret-0123456789";
export const CALLBACK_SECRET = "callback-secret-0123456789";
export const FAKE_CLAUDE = path.join(import.meta.dirname, "fixtures", "fake-claude.mjs");

export interface Harness {
  dir: string;
  env: Record<string, string>;
  config: ExecutorConfig;
  spawns(): string[];
  cleanup(): void;
}

export function harness(extra: Record<string, string> = {}): Harness {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-exec-"));
  makeRepo(path.join(dir, "repos"));
  const env = {
    HOST: "127.0.0.1",
    PORT: "0",
    EXECUTOR_SECRET: SECRET,
    CALLBACK_SECRET,
    DATA_DIR: path.join(dir, "data"),
    REPOS_DIR: path.join(dir, "repos"),
    WORKTREES_DIR: path.join(dir, "worktrees"),
    CLAUDE_BIN: FAKE_CLAUDE,
    LOG_LEVEL: "error",
    KILL_GRACE_MS: "300",
    // These suites test the API, queue and process handling; test/sandbox runs the same harness on.
    AGENT_SANDBOX: "off",
    ...extra,
  };
  return {
    dir,
    env,
    config: loadConfig(env),
    spawns: () => {
      try {
        return readdirSync(path.join(dir, "data", "spawns")).map((f) =>
          readFileSync(path.join(dir, "data", "spawns", f), "utf8"),
        );
      } catch {
        return [];
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The executor in-process on port 0; callbacks retry after 50 ms instead of 2 s. */
export async function start(h: Harness, o: ExecutorOverrides = {}): Promise<{ ex: Executor; url: string }> {
  const ex = createExecutor(h.config, {
    probeClis: false,
    env: { ANTHROPIC_API_KEY: "k" },
    callback: { baseDelayMs: 50 },
    ...o,
  });
  return { ex, url: await ex.listen() };
}

export const MAIN = path.join(import.meta.dirname, "..", "..", "src", "main.ts");

/**
 * The executor as a real process (`node src/main.ts`, Node 22 strips the types) on port 0; `wrap`
 * is an argv prefix that starts it (e.g. setpriv, to run it as the systemd unit would), `entry` another
 * node and entry file (the bundle, as installed).
 */
export async function spawnExecutor(
  h: Harness,
  extra: Record<string, string> = {},
  wrap: readonly string[] = [],
  entry: { node: string; main: string } = { node: process.execPath, main: MAIN },
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const [file = process.execPath, ...args] = [...wrap, entry.node, entry.main];
  const child = spawn(file, args, {
    env: { PATH: process.env.PATH ?? "", ...h.env, ANTHROPIC_API_KEY: "k", ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => reject(new Error(`executor exited ${code}: ${out}`)));
  });
  return { child, url, output: () => out };
}

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once("exit", (code) => r(code)));
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function getJob(url: string, jobId: string): Promise<Record<string, unknown>> {
  return fetch(`${url}/jobs/${jobId}`, { headers: { "x-auth-token": SECRET } }).then(
    (r) => r.json() as Promise<Record<string, unknown>>,
  );
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-auth-token": SECRET, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function waitJob(url: string, jobId: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await (
      await fetch(`${url}/jobs/${jobId}`, { headers: { "x-auth-token": SECRET } })
    ).json()) as Record<string, unknown>;
    if (!["queued", "running"].includes(String(view.status))) return view;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${view.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Live processes whose command line mentions `needle` or whose working directory is under it (a
 * CLI runs in its worktree) and, if given, whose command line contains `command`; zombies excluded
 * (/proc stat state Z).
 */
export function liveProcesses(needle: string, command?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ");
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /, "")[0];
      if ((cmd.includes(needle) || cwd.startsWith(needle)) && (!command || cmd.includes(command)) && state !== "Z")
        pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

export const job = (over: Record<string, unknown> = {}) => ({
  jobKey: `k-${Math.random().toString(36).slice(2)}`,
  profile: "sonnet",
  prompt: "write:hello.txt",
  repo: "demo",
  ...over,
});

/**
 * The shipped profiles with another consensus pair, written to `dir`/profiles.json (for
 * PROFILES_FILE). sonnet + opus: both sides run the fake claude.
 */
export function consensusProfiles(dir: string, pair: [string, string] = ["sonnet", "opus"]): string {
  const file = path.join(dir, "profiles.json");
  const shipped = JSON.parse(
    readFileSync(path.join(import.meta.dirname, "..", "..", "config", "profiles.json"), "utf8"),
  ) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...shipped, consensus: pair }));
  return file;
}
