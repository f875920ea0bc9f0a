/**
 * The local stack as processes: `wrangler dev` (Worker, Workflows, D1, KV) and the executor beside it.
 * Used by `npm start` (scripts/start.ts) and by the end-to-end tests, so both run the same thing.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { ensureIdentities, identityNames, removeIdentities } from "../executor/src/sandbox/provision.ts";

export const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "node_modules", ".bin");

export interface StackOptions {
  workerPort: number;
  executorPort: number;
  inspectorPort: number;
  /** Where local state lives: D1/KV/Workflows (wrangler), executor data, repos, worktrees. */
  stateDir: string;
  /** The .dev.vars-style file holding VAULT_AUTH_TOKEN, EXECUTOR_SECRET, CALLBACK_SECRET, OWNER_SECRET. */
  secretsFile: string;
  /** Extra executor environment (profiles, CLI paths, model API keys and base URLs). */
  executorEnv?: Record<string, string>;
  /** Extra Worker vars (`--var KEY:VALUE`). */
  workerVars?: Record<string, string>;
  /** Where child output goes; default: inherit. */
  log?: (source: "worker" | "executor", line: string) => void;
  /**
   * Agent identities when run as root (AGENT_SANDBOX on): `persistent` (npm start: vault-agent-N,
   * kept like install.sh's) or `ephemeral` (tests: a prefix of this stack's own, deleted at stop).
   * Not root: the sandbox cannot switch users, and the executor runs with AGENT_SANDBOX=off, said so.
   */
  agentIdentities?: "persistent" | "ephemeral";
  /**
   * How often to run the Worker's cron handler (reconcile), in ms: `wrangler dev` never fires cron
   * triggers by itself. Default 60 s (deployed: every 10 minutes); 0 turns it off.
   */
  reconcileEveryMs?: number;
}

export interface AgentSandboxSetup {
  /** The executor environment that turns the sandbox on or (explicitly) off. */
  env: Record<string, string>;
  /** What to print: on (and as whom) or off (and why). */
  summary: string;
  remove(): void;
}

/**
 * As root: the slot identities and a layout they cannot read through (the state dir searchable only,
 * repos, wrangler's state and the env files private), and the local Worker's and inspector's ports
 * closed to them (AGENT_BLOCK_PORTS: the executor's nftables rules), as the executor's own is. Not
 * root: AGENT_SANDBOX=off, as an explicit choice the start-up prints, since switching users needs
 * root here.
 */
export function setUpAgentSandbox(o: {
  stateDir: string;
  secretsFile: string;
  executorPort: number;
  /** The local Worker's and wrangler inspector's ports: no agent may connect to them. */
  blockPorts: readonly number[];
  executorEnv: Record<string, string>;
  mode: "persistent" | "ephemeral";
}): AgentSandboxSetup {
  const none = { remove: () => undefined };
  if (o.executorEnv.AGENT_SANDBOX === "off")
    return { ...none, env: {}, summary: "off (AGENT_SANDBOX=off): agents run as this user and can read its secrets" };
  if (process.geteuid?.() !== 0)
    return {
      ...none,
      env: { AGENT_SANDBOX: "off" },
      summary: "off: not root, so agents run as this user (run as root, or install the unit, to sandbox them)",
    };
  const prefix =
    o.executorEnv.AGENT_USER_PREFIX ?? (o.mode === "persistent" ? "vault-agent-" : `vault-e${o.executorPort}-`);
  const names = identityNames(prefix, Number(o.executorEnv.MAX_EXECUTORS ?? "2"));
  ensureIdentities(names);
  chmodSync(o.stateDir, 0o711);
  for (const dir of ["repos", "wrangler"]) {
    mkdirSync(path.join(o.stateDir, dir), { recursive: true });
    chmodSync(path.join(o.stateDir, dir), 0o700);
  }
  for (const file of [o.secretsFile, o.executorEnv.EXECUTOR_ENV_FILE])
    if (file && existsSync(file)) chmodSync(file, 0o600);
  return {
    env: { AGENT_SANDBOX: "on", AGENT_USER_PREFIX: prefix, AGENT_BLOCK_PORTS: o.blockPorts.join(",") },
    summary: `on: agents run as ${names.join(", ")}`,
    remove: () => (o.mode === "ephemeral" ? removeIdentities(names) : undefined),
  };
}

export interface Secrets {
  VAULT_AUTH_TOKEN: string;
  EXECUTOR_SECRET: string;
  CALLBACK_SECRET: string;
  /** What the owner types on the OAuth consent page (Claude.ai's sign-in). */
  OWNER_SECRET: string;
}

export interface RunningStack {
  workerUrl: string;
  executorUrl: string;
  /** wrangler dev's inspector (the Worker's DevTools protocol). */
  inspectorPort: number;
  secrets: Secrets;
  /** The agent sandbox as started (on as root, off otherwise). */
  agentSandbox: string;
  executor: ChildProcess;
  worker: ChildProcess;
  /** Kills and restarts the executor (same data; `env` overrides): for failure-injection tests. */
  restartExecutor(signal?: NodeJS.Signals, env?: Record<string, string>): Promise<void>;
  /** Stops the executor and leaves it down. */
  stopExecutor(signal?: NodeJS.Signals): Promise<void>;
  /** Stops wrangler dev and starts it again on the same port and state (a Worker restart). */
  restartWorker(): Promise<void>;
  /** Stops wrangler dev (its whole process group) and leaves it down: an outage of the Worker. */
  stopWorker(signal?: NodeJS.Signals): Promise<void>;
  /** Starts wrangler dev again after stopWorker, on the same port and state. */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

export class StackError extends Error {
  override readonly name = "StackError";
}

const SECRET_KEYS = ["VAULT_AUTH_TOKEN", "EXECUTOR_SECRET", "CALLBACK_SECRET", "OWNER_SECRET"] as const;

/** Reads the secrets file, creating it (mode 0600) with random values for any key missing. */
export function ensureSecrets(file: string): Secrets {
  const existing = new Map<string, string>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (m?.[1] && m[2] !== undefined) existing.set(m[1], m[2].replace(/^"(.*)"$/, "$1"));
    }
  }
  // The API token and the owner secret are in it: the user's alone, also when it was made by hand.
  if (existsSync(file) && statSync(file).uid === process.geteuid?.()) chmodSync(file, 0o600);
  const missing = SECRET_KEYS.filter((k) => !existing.get(k));
  if (missing.length > 0) {
    for (const k of missing) existing.set(k, randomBytes(24).toString("hex"));
    const body = [...existing].map(([k, v]) => `${k}=${v}`).join("\n");
    writeFileSync(
      file,
      `# Local secrets for wrangler dev and the executor (written by npm start; never commit).\n${body}\n`,
      { mode: 0o600 },
    );
  }
  return {
    VAULT_AUTH_TOKEN: existing.get("VAULT_AUTH_TOKEN") ?? "",
    EXECUTOR_SECRET: existing.get("EXECUTOR_SECRET") ?? "",
    CALLBACK_SECRET: existing.get("CALLBACK_SECRET") ?? "",
    OWNER_SECRET: existing.get("OWNER_SECRET") ?? "",
  };
}

/** A tiny allowlisted repo so a fresh checkout has something to run tasks against. */
export function ensureDemoRepo(reposDir: string, name = "demo"): string {
  const dir = path.join(reposDir, name);
  if (existsSync(path.join(dir, ".git"))) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "README.md"), "# demo\n\nA scratch repository for vault-mcp tasks.\n");
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.name=vault", "-c", "user.email=vault@localhost", ...args], {
      cwd: dir,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new StackError(`git ${args[0]} failed in ${dir}: ${r.stderr}`);
  };
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "init");
  return dir;
}

/**
 * `n` distinct ports free on 127.0.0.1 a moment ago, from the kernel (listen on port 0, all at once
 * so none repeats): test stacks take these instead of fixed ports, so suites, checkouts and a
 * running `npm start` never collide.
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const srv = net.createServer();
          srv.once("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
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

function pipeLines(child: ChildProcess, source: "worker" | "executor", log: StackOptions["log"]): void {
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

/**
 * The Worker's cron handler, run through wrangler dev's own trigger route (miniflare answers
 * `/cdn-cgi/local/scheduled` before the Worker's guards see the request). While wrangler is down the
 * call fails; the next one runs once it is back.
 */
export function cronTicker(workerUrl: string, everyMs: number): { tick(): Promise<void>; stop(): void } {
  let running: Promise<void> | null = null;
  const tick = (): Promise<void> => {
    running ??= fetch(`${workerUrl}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}`, {
      signal: AbortSignal.timeout(120_000),
    })
      .then(async (res) => void (await res.body?.cancel()))
      // Wrangler is down or restarting: nothing to reconcile with until it is back.
      .catch(() => undefined)
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = everyMs > 0 ? setInterval(() => void tick(), everyMs) : null;
  timer?.unref();
  return { tick, stop: () => (timer ? clearInterval(timer) : undefined) };
}

/** Signals a whole process group (children run detached), then SIGKILLs it after a grace. */
async function stopGroup(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
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

function baseEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
}

/** Mermaid's browser build into public/ for the status page's diagrams (a no-op when current). */
export function ensureStatusAssets(): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "status-assets.mjs")], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new StackError(`copying the status page's assets failed:\n${r.stderr}`);
}

/** wrangler's environment for a stack whose state is in `persistTo`: its debug logs there too (private). */
function wranglerEnv(persistTo: string): NodeJS.ProcessEnv {
  return { ...baseEnv(), WRANGLER_LOG_PATH: path.join(persistTo, "logs") };
}

export function migrateLocal(persistTo: string): void {
  const r = spawnSync(
    path.join(BIN, "wrangler"),
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo],
    {
      cwd: ROOT,
      env: { ...wranglerEnv(persistTo), CI: "true" },
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new StackError(`applying D1 migrations failed:\n${r.stdout}\n${r.stderr}`);
}

export async function startStack(opts: StackOptions): Promise<RunningStack> {
  for (const [what, port] of [
    ["worker", opts.workerPort],
    ["executor", opts.executorPort],
    ["inspector", opts.inspectorPort],
  ] as const) {
    if (!(await portFree(port))) {
      throw new StackError(
        `port ${port} (${what}) is already in use on 127.0.0.1: stop what holds it (e.g. \`ss -ltnp 'sport = :${port}'\`) or choose another port`,
      );
    }
  }
  mkdirSync(opts.stateDir, { recursive: true });
  const secrets = ensureSecrets(opts.secretsFile);
  const reposDir = path.join(opts.stateDir, "repos");
  const sandbox = setUpAgentSandbox({
    stateDir: opts.stateDir,
    secretsFile: opts.secretsFile,
    executorPort: opts.executorPort,
    blockPorts: [opts.workerPort, opts.inspectorPort],
    executorEnv: opts.executorEnv ?? {},
    mode: opts.agentIdentities ?? "persistent",
  });
  ensureDemoRepo(reposDir);
  ensureStatusAssets();
  const wranglerState = path.join(opts.stateDir, "wrangler");
  migrateLocal(wranglerState);

  const workerUrl = `http://127.0.0.1:${opts.workerPort}`;
  const executorUrl = `http://127.0.0.1:${opts.executorPort}`;
  const executorEnv: NodeJS.ProcessEnv = {
    ...baseEnv(),
    HOST: "127.0.0.1",
    PORT: String(opts.executorPort),
    EXECUTOR_SECRET: secrets.EXECUTOR_SECRET,
    CALLBACK_SECRET: secrets.CALLBACK_SECRET,
    DATA_DIR: path.join(opts.stateDir, "executor"),
    REPOS_DIR: reposDir,
    WORKTREES_DIR: path.join(opts.stateDir, "worktrees"),
    ...opts.executorEnv,
    ...sandbox.env,
  };
  const spawnExecutor = (extra: Record<string, string> = {}): ChildProcess => {
    const child = spawn(process.execPath, [path.join(ROOT, "executor", "src", "main.ts")], {
      cwd: ROOT,
      env: { ...executorEnv, ...extra },
      detached: true,
      stdio: ["ignore", opts.log ? "pipe" : "inherit", opts.log ? "pipe" : "inherit"],
    });
    pipeLines(child, "executor", opts.log);
    return child;
  };

  const vars = { EXECUTOR_URL: executorUrl, PUBLIC_URL: workerUrl, ...opts.workerVars };
  const spawnWorker = (): ChildProcess => {
    const child = spawn(
      path.join(BIN, "wrangler"),
      [
        "dev",
        "--local",
        "--ip",
        "127.0.0.1",
        "--port",
        String(opts.workerPort),
        "--inspector-port",
        String(opts.inspectorPort),
        "--persist-to",
        wranglerState,
        "--env-file",
        opts.secretsFile,
        "--show-interactive-dev-session=false",
        ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
      ],
      {
        cwd: ROOT,
        env: wranglerEnv(wranglerState),
        detached: true,
        stdio: ["ignore", opts.log ? "pipe" : "inherit", opts.log ? "pipe" : "inherit"],
      },
    );
    pipeLines(child, "worker", opts.log);
    return child;
  };

  const stack: RunningStack = {
    workerUrl,
    executorUrl,
    inspectorPort: opts.inspectorPort,
    secrets,
    agentSandbox: sandbox.summary,
    worker: spawnWorker(),
    executor: spawnExecutor(),
    async restartExecutor(signal = "SIGKILL", env = {}) {
      await stopGroup(stack.executor, signal, 10_000);
      stack.executor = spawnExecutor(env);
      await waitHealthy(`${executorUrl}/health`, 30_000, stack.executor);
    },
    async stopExecutor(signal = "SIGTERM") {
      await stopGroup(stack.executor, signal, 25_000);
    },
    async restartWorker() {
      await stack.stopWorker("SIGINT");
      await stack.startWorker();
    },
    async stopWorker(signal = "SIGINT") {
      await stopGroup(stack.worker, signal, 5_000);
    },
    async startWorker() {
      stack.worker = spawnWorker();
      await waitHealthy(`${workerUrl}/health`, 60_000, stack.worker, (s) => s === 200 || s === 503);
      // A restarted local engine resumes no instance by itself: reconcile wakes the ones that wait.
      void cron.tick();
    },
    async stop() {
      cron.stop();
      await Promise.all([stopGroup(stack.worker, "SIGINT", 5_000), stopGroup(stack.executor, "SIGTERM", 25_000)]);
      sandbox.remove();
    },
  };
  const cron = cronTicker(workerUrl, opts.reconcileEveryMs ?? 60_000);
  try {
    await Promise.all([
      waitHealthy(`${executorUrl}/health`, 30_000, stack.executor),
      waitHealthy(`${workerUrl}/health`, 60_000, stack.worker, (s) => s === 200 || s === 503),
    ]);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  void cron.tick();
  return stack;
}
