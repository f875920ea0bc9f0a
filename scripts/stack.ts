/**
 * The local stack as processes: `wrangler dev` (Worker, Workflows, D1, KV) and the executor beside it.
 * Used by `npm start` (scripts/start.ts) and by the end-to-end tests, so both run the same thing.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureIdentities, identityNames, removeIdentities } from "../executor/src/sandbox/provision.ts";
import { executorEnv, executorLayouts, LocalExecutor, waitPoolFresh } from "./local-executors.ts";
import { BIN, baseEnv, pipeLines, portFree, ROOT, StackError, stopGroup, waitHealthy } from "./processes.ts";

export type { LocalExecutor } from "./local-executors.ts";
export { freePorts, portFree, ROOT, StackError, waitHealthy } from "./processes.ts";

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
  /**
   * How many executors (default 1). More than one form a pool: each joins the Worker by heartbeat
   * (POOL_URL, EXECUTOR_ID e1, e2, …) on the next port up from `executorPort` (or `executorPorts`).
   */
  executors?: number;
  /** The executors' ports, when not `executorPort` counting up (tests take free ones). */
  executorPorts?: number[];
  /** Heartbeats even with one executor (a pool of one), e.g. to compare pool sizes. */
  pool?: boolean;
}

/** One line for the banner: each executor of a local pool has identities of its own (e1, e2, …). */
function sandboxSummary(sandboxes: readonly AgentSandboxSetup[]): string {
  if (sandboxes.length < 2 || sandboxes.some((s) => s.identities.length === 0)) return sandboxes[0]?.summary ?? "";
  return `on: agents run as ${sandboxes.map((s, i) => `${s.identities.join(", ")} (e${i + 1})`).join("; ")}`;
}

export interface AgentSandboxSetup {
  /** The executor environment that turns the sandbox on or (explicitly) off. */
  env: Record<string, string>;
  /** What to print: on (and as whom) or off (and why). */
  summary: string;
  /** The slot identities its agents run as; none when the sandbox is off. */
  identities: string[];
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
  /** Which executor of the local pool (0-based): each has identities of its own. */
  index?: number;
  /** Its repos directory, closed to the agents like the first one's. */
  reposDir?: string;
}): AgentSandboxSetup {
  const none = { remove: () => undefined, identities: [] };
  if (o.executorEnv.AGENT_SANDBOX === "off")
    return { ...none, env: {}, summary: "off (AGENT_SANDBOX=off): agents run as this user and can read its secrets" };
  if (process.geteuid?.() !== 0)
    return {
      ...none,
      env: { AGENT_SANDBOX: "off" },
      summary: "off: not root, so agents run as this user (run as root, or install the unit, to sandbox them)",
    };
  const index = o.index ?? 0;
  const base =
    o.executorEnv.AGENT_USER_PREFIX ?? (o.mode === "persistent" ? "vault-agent-" : `vault-e${o.executorPort}-`);
  // Each executor of a local pool has its own identities: one executor's start-up kills whatever its
  // identities still run, which must never be another executor's agents.
  const prefix = index === 0 || o.mode === "ephemeral" ? base : `${base}e${index + 1}-`;
  const names = identityNames(prefix, Number(o.executorEnv.MAX_EXECUTORS ?? "2"));
  ensureIdentities(names);
  chmodSync(o.stateDir, 0o711);
  for (const dir of [o.reposDir ?? path.join(o.stateDir, "repos"), path.join(o.stateDir, "wrangler")]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
  }
  for (const file of [o.secretsFile, o.executorEnv.EXECUTOR_ENV_FILE])
    if (file && existsSync(file)) chmodSync(file, 0o600);
  return {
    env: { AGENT_SANDBOX: "on", AGENT_USER_PREFIX: prefix, AGENT_BLOCK_PORTS: o.blockPorts.join(",") },
    summary: `on: agents run as ${names.join(", ")}`,
    identities: names,
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
  /** The first executor's URL (the Worker's EXECUTOR_URL). */
  executorUrl: string;
  /** wrangler dev's inspector (the Worker's DevTools protocol). */
  inspectorPort: number;
  secrets: Secrets;
  /** The agent sandbox as started (on as root, off otherwise; the first executor's). */
  agentSandbox: string;
  /** The first executor's process. */
  readonly executor: ChildProcess;
  /** Every executor (one unless `executors` asked for a pool). */
  executors: LocalExecutor[];
  /** Whether the executors heartbeat to the Worker (a pool). */
  pool: boolean;
  worker: ChildProcess;
  /** Kills and restarts the first executor (same data; `env` overrides): for failure-injection tests. */
  restartExecutor(signal?: NodeJS.Signals, env?: Record<string, string>): Promise<void>;
  /** Stops the first executor and leaves it down. */
  stopExecutor(signal?: NodeJS.Signals): Promise<void>;
  /** Stops wrangler dev and starts it again on the same port and state (a Worker restart). */
  restartWorker(): Promise<void>;
  /** Stops wrangler dev (its whole process group) and leaves it down: an outage of the Worker. */
  stopWorker(signal?: NodeJS.Signals): Promise<void>;
  /** Starts wrangler dev again after stopWorker, on the same port and state. */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
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
  const count = opts.executors ?? 1;
  const ports = opts.executorPorts ?? Array.from({ length: count }, (_, i) => opts.executorPort + i);
  if (ports.length !== count) throw new StackError(`${count} executors need ${count} ports, got ${ports.length}`);
  for (const [what, port] of [
    ["worker", opts.workerPort],
    ...ports.map((p, i) => [count > 1 ? `executor ${i + 1}` : "executor", p] as const),
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
  const layouts = executorLayouts(opts.stateDir, ports);
  const sandboxes = layouts.map((l) =>
    setUpAgentSandbox({
      stateDir: opts.stateDir,
      secretsFile: opts.secretsFile,
      executorPort: l.port,
      // The Worker, its inspector and the other executors: no agent connects to them (its own
      // executor's port is closed by that executor).
      blockPorts: [opts.workerPort, opts.inspectorPort, ...ports.filter((p) => p !== l.port)],
      executorEnv: opts.executorEnv ?? {},
      mode: opts.agentIdentities ?? "persistent",
      index: l.index,
      reposDir: l.reposDir,
    }),
  );
  for (const l of layouts) ensureDemoRepo(l.reposDir);
  ensureStatusAssets();
  const wranglerState = path.join(opts.stateDir, "wrangler");
  migrateLocal(wranglerState);

  const workerUrl = `http://127.0.0.1:${opts.workerPort}`;
  const executorUrl = layouts[0]?.url ?? "";
  const pool = opts.pool ?? count > 1;
  const executors = layouts.map(
    (layout, i) =>
      new LocalExecutor(
        layout,
        executorEnv({
          layout,
          secrets,
          poolUrl: pool ? workerUrl : undefined,
          common: opts.executorEnv ?? {},
          sandbox: sandboxes[i]?.env ?? {},
        }),
        opts.log,
      ),
  );
  const first = () => {
    const e = executors[0];
    if (!e) throw new StackError("the stack has no executor");
    return e;
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
    agentSandbox: sandboxSummary(sandboxes),
    get executor() {
      return first().child;
    },
    executors,
    pool,
    worker: spawnWorker(),
    async restartExecutor(signal = "SIGKILL", env = {}) {
      await first().stop(signal);
      await first().start(env);
    },
    async stopExecutor(signal = "SIGTERM") {
      await first().stop(signal);
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
      await Promise.all([stopGroup(stack.worker, "SIGINT", 5_000), ...executors.map((e) => e.stop("SIGTERM"))]);
      for (const s of sandboxes) s.remove();
    },
  };
  const cron = cronTicker(workerUrl, opts.reconcileEveryMs ?? 60_000);
  try {
    await Promise.all([
      ...executors.map((e) => waitHealthy(`${e.url}/health`, 30_000, e.child)),
      waitHealthy(`${workerUrl}/health`, 60_000, stack.worker, (s) => s === 200 || s === 503),
    ]);
    if (pool)
      await waitPoolFresh(
        workerUrl,
        secrets.VAULT_AUTH_TOKEN,
        executors.map((e) => e.id),
      );
  } catch (err) {
    await stack.stop();
    throw err;
  }
  void cron.tick();
  return stack;
}
