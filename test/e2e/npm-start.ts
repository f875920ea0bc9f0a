/**
 * `npm start` and its neighbours as a newcomer runs them: from the repo, with only the machine's own
 * node and npm on PATH (no node_modules/.bin in front), on free ports and a state dir of their own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePorts, portFree, ROOT } from "../../scripts/stack.ts";

/** The machine's PATH only, and none of this process's npm, vitest or VAULT_ settings; `extra` on top. */
export function systemEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("npm_") && !k.startsWith("VITEST") && !k.startsWith("VAULT_")) env[k] = v;
  env.PATH = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((p) => !p.includes("node_modules"))
    .join(path.delimiter);
  return { ...env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extra };
}

export interface NpmStart {
  /** The npm process itself (what a test may kill); its group holds sh and start.ts too. */
  npm: ChildProcess;
  /** Worker, executor, inspector. */
  ports: number[];
  output(): string;
  /** SIGINT to npm's group, as Ctrl-C does; waits until every port is free again. Idempotent. */
  stop(): Promise<void>;
}

/** Every port in `ports` free within `withinMs`; returns those still taken. */
export async function takenAfter(ports: readonly number[], withinMs: number): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const taken: number[] = [];
    for (const p of ports) if (!(await portFree(p))) taken.push(p);
    if (taken.length === 0 || Date.now() > deadline) return taken;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `npm start` until it printed how to connect (or exited); the sandbox off, as root it would make users
 * for good. Its output goes to a pipe, or to `logFile`, created as a shell's `> file` would (0644).
 */
export async function npmStart(o: { logFile?: string } = {}): Promise<NpmStart> {
  const ports = await freePorts(3);
  const [worker, executor, inspector] = ports.map(String);
  const state = mkdtempSync(path.join(os.tmpdir(), "vault-npm-start-"));
  const log = o.logFile ? openSync(o.logFile, "w", 0o644) : null;
  const npm = spawn("npm", ["start"], {
    cwd: ROOT,
    env: systemEnv({
      VAULT_WORKER_PORT: worker as string,
      VAULT_EXECUTOR_PORT: executor as string,
      VAULT_INSPECTOR_PORT: inspector as string,
      VAULT_STATE_DIR: state,
      AGENT_SANDBOX: "off",
    }),
    detached: true,
    stdio: log === null ? ["ignore", "pipe", "pipe"] : ["ignore", log, log],
  });
  if (log !== null) closeSync(log);
  let piped = "";
  npm.stdout?.on("data", (d: Buffer) => (piped += d.toString()));
  npm.stderr?.on("data", (d: Buffer) => (piped += d.toString()));
  const output = () => (o.logFile ? readFileSync(o.logFile, "utf8") : piped);
  const deadline = Date.now() + 120_000;
  while (!output().includes("Ctrl-C stops both") && Date.now() < deadline && npm.exitCode === null)
    await new Promise((r) => setTimeout(r, 100));
  return {
    npm,
    ports,
    output,
    async stop() {
      try {
        if (npm.pid) process.kill(-npm.pid, "SIGINT");
      } catch {
        // npm's group is gone already (a test killed it): the ports below say whether the stack is
      }
      await takenAfter(ports, 30_000);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
