/**
 * `npm start` as a newcomer runs it, from the repo with the machine's own node and npm: the `vault`
 * CLI and `npm run inspect` find it through VAULT_WORKER_PORT alone, a task that fails shows as one
 * line, and killing only the npm process (SIGKILL or SIGTERM) leaves none of its ports taken.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { type NpmStart, npmStart, systemEnv, takenAfter } from "./npm-start.ts";

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

const started: NpmStart[] = [];

async function startTracked(): Promise<NpmStart> {
  const s = await npmStart();
  started.push(s);
  expect(s.output()).toContain("vault-mcp is running");
  return s;
}

// Whatever a failed test left: a plain stop (SIGINT to npm's group), which also waits for the ports.
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
}, 60_000);

describe("npm start", () => {
  it("vault and npm run inspect reach it through VAULT_WORKER_PORT; a failed task is one line; SIGKILL of npm frees every port", async () => {
    const s = await startTracked();
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
    expect(await takenAfter(s.ports, 10_000)).toEqual([]);
  }, 240_000);

  it("into a log file: the token is not in it (it says where the token is), and the file is made private", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-log-"));
    try {
      const log = path.join(dir, "vault.log");
      const s = await npmStart({ logFile: log });
      started.push(s);
      const out = s.output();
      expect(out).toContain("vault-mcp is running");
      const token = /^VAULT_AUTH_TOKEN=(\S+)$/m.exec(readFileSync(path.join(ROOT, ".dev.vars"), "utf8"))?.[1];
      expect(token).toBeTruthy();
      expect(out).not.toContain(token as string);
      expect(out).toMatch(/token +in .*\.dev\.vars \(VAULT_AUTH_TOKEN, mode 0600\); not printed/);
      expect(out).toMatch(/log +.*vault\.log made private \(mode 0600\)/);
      // The connect line still works as printed: the shell reads the token from .dev.vars.
      const header = /--header "(Authorization: Bearer \$\(sed [^)]*\))"/.exec(out)?.[1] as string;
      expect(header).toBeTruthy();
      const expanded = spawnSync("sh", ["-c", `printf '%s' "${header}"`], { encoding: "utf8" }).stdout;
      expect(expanded).toBe(`Authorization: Bearer ${token}`);
      expect(statSync(log).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(ROOT, ".dev.vars")).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("SIGTERM of npm alone frees every port too", async () => {
    const s = await startTracked();
    process.kill(s.npm.pid as number, "SIGTERM");
    expect(await takenAfter(s.ports, 10_000)).toEqual([]);
  }, 180_000);
});
