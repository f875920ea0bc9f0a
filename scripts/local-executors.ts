/**
 * The executors of the local stack: one by default (the Worker's EXECUTOR_URL, as before), or a pool
 * (`VAULT_EXECUTORS=3 npm start`, the pool's tests and benchmarks): each on its own port, with its
 * own data, repos, worktrees and agent identities, joining the Worker by heartbeat (POOL_URL) under
 * the id `e1`, `e2`, ….
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { baseEnv, type LineSink, pipeLines, ROOT, stopGroup, waitHealthy } from "./processes.ts";

export interface ExecutorLayout {
  /** 0-based. */
  index: number;
  /** Its id in the pool (EXECUTOR_ID). */
  id: string;
  port: number;
  url: string;
  dataDir: string;
  reposDir: string;
  worktreesDir: string;
}

/**
 * Where each executor keeps its state. The first one keeps the single executor's places (so a
 * `.vault/` from before the pool still works); the others get `executor-N`, `repos-N`, `worktrees-N`.
 */
export function executorLayouts(stateDir: string, ports: readonly number[]): ExecutorLayout[] {
  return ports.map((port, index) => {
    const n = index === 0 ? "" : `-${index + 1}`;
    return {
      index,
      id: `e${index + 1}`,
      port,
      url: `http://127.0.0.1:${port}`,
      dataDir: path.join(stateDir, `executor${n}`),
      reposDir: path.join(stateDir, `repos${n}`),
      worktreesDir: path.join(stateDir, `worktrees${n}`),
    };
  });
}

/** One executor process of the local stack; `start` again after `stop` keeps its data. */
export class LocalExecutor {
  child: ChildProcess;
  readonly layout: ExecutorLayout;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: LineSink | undefined;

  constructor(layout: ExecutorLayout, env: NodeJS.ProcessEnv, log: LineSink | undefined) {
    this.layout = layout;
    this.env = env;
    this.log = log;
    this.child = this.spawn();
  }

  get id(): string {
    return this.layout.id;
  }
  get url(): string {
    return this.layout.url;
  }

  private spawn(extra: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [path.join(ROOT, "executor", "src", "main.ts")], {
      cwd: ROOT,
      env: { ...this.env, ...extra },
      detached: true,
      stdio: ["ignore", this.log ? "pipe" : "inherit", this.log ? "pipe" : "inherit"],
    });
    pipeLines(child, "executor", this.log);
    return child;
  }

  /** Stops its whole process group (`SIGKILL`: no graceful shutdown, no last heartbeat). */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    return stopGroup(this.child, signal, signal === "SIGKILL" ? 10_000 : 25_000);
  }

  /** Starts it again (same data; `extra` overrides its environment) and waits for its /health. */
  async start(extra: Record<string, string> = {}): Promise<void> {
    this.child = this.spawn(extra);
    await waitHealthy(`${this.url}/health`, 30_000, this.child);
  }

  /** SIGSTOP/SIGCONT of its group: frozen, it neither runs nor heartbeats (a VM that hangs). */
  freeze(frozen: boolean): void {
    if (this.child.pid !== undefined) process.kill(-this.child.pid, frozen ? "SIGSTOP" : "SIGCONT");
  }
}

export interface ExecutorEnvInput {
  layout: ExecutorLayout;
  secrets: { EXECUTOR_SECRET: string; CALLBACK_SECRET: string };
  /** The Worker's URL when the executors form a pool (heartbeats); undefined: EXECUTOR_URL alone. */
  poolUrl: string | undefined;
  /** What every executor gets (profiles, CLIs, …), then the agent sandbox's own variables. */
  common: Record<string, string>;
  sandbox: Record<string, string>;
}

export function executorEnv(i: ExecutorEnvInput): NodeJS.ProcessEnv {
  const { layout } = i;
  return {
    ...baseEnv(),
    HOST: "127.0.0.1",
    PORT: String(layout.port),
    EXECUTOR_SECRET: i.secrets.EXECUTOR_SECRET,
    CALLBACK_SECRET: i.secrets.CALLBACK_SECRET,
    DATA_DIR: layout.dataDir,
    REPOS_DIR: layout.reposDir,
    WORKTREES_DIR: layout.worktreesDir,
    ...(i.poolUrl ? { POOL_URL: i.poolUrl, EXECUTOR_ID: layout.id, EXECUTOR_PUBLIC_URL: layout.url } : {}),
    ...i.common,
    ...i.sandbox,
  };
}

/** Waits until the Worker lists every executor as fresh (each has heartbeat since it started). */
export async function waitPoolFresh(
  workerUrl: string,
  token: string,
  ids: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${workerUrl}/api/executors`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await res.json()) as { executors?: { id: string; fresh: boolean }[] };
      const fresh = new Set((body.executors ?? []).filter((e) => e.fresh).map((e) => e.id));
      if (ids.every((id) => fresh.has(id))) return;
      seen = `fresh: ${[...fresh].join(", ") || "none"}`;
    } catch (err) {
      seen = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the pool did not register ${ids.join(", ")} within ${timeoutMs} ms (${seen})`);
}
