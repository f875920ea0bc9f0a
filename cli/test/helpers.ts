/** Running the `vault` binary as a real child process, as a user's shell would. */
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const BIN = path.join(ROOT, "cli", "bin", "vault.mjs");

export interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/** The environment without the developer's own VAULT_* settings, and without colour. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.VAULT_URL;
  delete env.VAULT_AUTH_TOKEN;
  return env;
}

export function spawnRun(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

/** `node cli/bin/vault.mjs …` with `env` over a clean environment (an `undefined` value removes a variable). */
export function runVault(args: string[], env: Record<string, string | undefined>, cwd = ROOT): Promise<Ran> {
  const merged: NodeJS.ProcessEnv = { ...cleanEnv(), ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  return spawnRun(process.execPath, [BIN, ...args], merged, cwd);
}

export function parseJson<T>(r: Ran): T {
  try {
    return JSON.parse(r.out) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.out}\nstderr:\n${r.err}`);
  }
}

/** A port nothing listens on (it was free a moment ago): a Worker that is down. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
