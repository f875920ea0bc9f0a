/**
 * Child processes of the local stack: ports, health waits, log lines, process groups. Used by
 * scripts/stack.ts (wrangler dev) and scripts/local-executors.ts (the executors).
 */
import type { ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const BIN = path.join(ROOT, "node_modules", ".bin");

export class StackError extends Error {
  override readonly name = "StackError";
}

/** Where a child's output lines go (npm start prints them; tests keep them quiet). */
export type LineSink = (source: "worker" | "executor", line: string) => void;

/**
 * A listener that only holds a port: any connection made to it meanwhile is dropped at once. A
 * client that reaches it (another stack's process still calling a port it used before) would
 * otherwise keep `close` waiting for as long as that client holds its socket, minutes for a
 * callback that waits for an answer.
 */
export function holdPort(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((socket) => socket.destroy());
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

export const release = (srv: net.Server): Promise<void> => new Promise((r) => srv.close(() => r()));

/**
 * `n` distinct ports free on 127.0.0.1 a moment ago, from the kernel (listen on port 0, all at once
 * so none repeats): test stacks take these instead of fixed ports, so suites, checkouts and a
 * running `npm start` never collide.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => holdPort(0)));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map(release));
  return ports;
}

export async function portFree(port: number): Promise<boolean> {
  try {
    await release(await holdPort(port));
    return true;
  } catch {
    return false; // in use (EADDRINUSE), or not ours to bind
  }
}

/** Polls `url` until it answers (2xx, or any status `accept` allows) or the child exits. */
export async function waitHealthy(
  url: string,
  timeoutMs: number,
  child?: ChildProcess,
  accept: (status: number) => boolean = (s) => s >= 200 && s < 300,
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new StackError(`${url} exited with code ${child.exitCode} before it was healthy`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (accept(res.status)) return await res.json();
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StackError(`${url} not healthy after ${timeoutMs} ms (${last})`);
}

export function pipeLines(child: ChildProcess, source: "worker" | "executor", log: LineSink | undefined): void {
  if (!log) return;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      buf += chunk;
      let i = buf.indexOf("\n");
      while (i >= 0) {
        log(source, buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    });
  }
}

/** Signals a whole process group (children run detached), then SIGKILLs it after a grace. */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return; // group already gone
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
  // workerd can outlive wrangler's node process; make sure nothing of the group is left listening.
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // nothing left
  }
}

export function baseEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
}
