/**
 * `npm start` as a newcomer runs it, from the repo with the machine's own node and npm: the `vault`
 * CLI and `npm run inspect` find it through VAULT_WORKER_PORT alone, a task that fails shows as one
 * line, and killing only the npm process (SIGKILL or SIGTERM) leaves none of its ports taken.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePorts, portFree, ROOT } from "../../scripts/stack.ts";

/** The machine's PATH only (no node_modules/.bin), as a reader's shell has it. */
function systemEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("npm_") && !k.startsWith("VITEST") && !k.startsWith("VAULT_")) env[k] = v;
  env.PATH = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((p) => !p.includes("node_modules"))
    .join(path.delimiter);
  return { ...env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extra };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

interface Started {
  npm: ChildProcess;
  ports: number[];
  output: () => string;
  state: string;
}

const started: Started[] = [];

async function npmStart(): Promise<Started> {
  const ports = await freePorts(3);
  const [worker, executor, inspector] = ports.map(String);
  const state = mkdtempSync(path.join(os.tmpdir(), "vault-npm-start-"));
  // npm itself is the child: its pid is the one the tests kill. Its own group, so cleanup can reach
  // whatever a failed test leaves.
  const npm = spawn("npm", ["start"], {
    cwd: ROOT,
    env: systemEnv({
      VAULT_WORKER_PORT: worker as string,
      VAULT_EXECUTOR_PORT: executor as string,
      VAULT_INSPECTOR_PORT: inspector as string,
      VAULT_STATE_DIR: state,
      // As root npm start would create the agent users for good; that is not what is tested here.
      AGENT_SANDBOX: "off",
    }),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  npm.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  npm.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const s = { npm, ports, output: () => out, state };
  started.push(s);
  const deadline = Date.now() + 120_000;
  while (!out.includes("Ctrl-C stops both") && Date.now() < deadline && npm.exitCode === null)
    await new Promise((r) => setTimeout(r, 100));
  expect(out).toContain("vault-mcp is running");
  return s;
}

async function allFree(ports: readonly number[], withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const taken: number[] = [];
    for (const p of ports) if (!(await portFree(p))) taken.push(p);
    if (taken.length === 0 || Date.now() > deadline) return taken;
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterEach(async () => {
  for (const s of started.splice(0)) {
    // The test's own cleanup of anything a failure left: npm's group, then a plain stop of the stack.
    try {
      if (s.npm.pid) process.kill(-s.npm.pid, "SIGINT");
    } catch {
      // already gone, as it should be
    }
    await allFree(s.ports, 30_000);
    rmSync(s.state, { recursive: true, force: true });
  }
}, 60_000);

describe("npm start", () => {
  it("vault and npm run inspect reach it through VAULT_WORKER_PORT; a failed task is one line; SIGKILL of npm frees every port", async () => {
    const s = await npmStart();
    const port = String(s.ports[0]);
    // No VAULT_URL and no token: the port says where, the .dev.vars npm start wrote gives the token.
    const env = systemEnv({ VAULT_WORKER_PORT: port });
    const health = await run("npx", ["vault", "health"], env);
    expect(health.out).toMatch(/worker\s+v\d/);
    expect(health.out).not.toContain("cannot reach");
    const inspect = await run("npm", ["run", "inspect"], env);
    expect(inspect.code, inspect.out).toBe(0);
    expect(inspect.out).toContain('"execute"');

    // No model credentials here: the task fails at once, and the stack's output says so in one line.
    const token = /VAULT_AUTH_TOKEN=(\S+)/.exec(
      (await run("cat", [path.join(ROOT, ".dev.vars")], env)).out,
    )?.[1] as string;
    const res = await fetch(`http://127.0.0.1:${port}/api/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", waitSeconds: 10 }),
    });
    const { taskId, status } = (await res.json()) as { taskId: string; status: string };
    expect(status).toBe("failed");
    const deadline = Date.now() + 10_000;
    while (!s.output().includes(`task ${taskId} failed`) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(s.output()).toMatch(new RegExp(`^task ${taskId} failed: no profile could run`, "m"));
    expect(s.output()).not.toContain("Uncaught");
    expect(s.output()).not.toMatch(/^\s+at run \(/m);

    process.kill(s.npm.pid as number, "SIGKILL");
    expect(await allFree(s.ports, 10_000)).toEqual([]);
  }, 240_000);

  it("SIGTERM of npm alone frees every port too", async () => {
    const s = await npmStart();
    process.kill(s.npm.pid as number, "SIGTERM");
    expect(await allFree(s.ports, 10_000)).toEqual([]);
  }, 180_000);
});
