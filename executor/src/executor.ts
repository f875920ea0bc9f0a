/**
 * Wires config → store (+ crash recovery) → worktrees → adapters → queue → runner → HTTP app.
 * main.ts runs it as the service; tests and benches run it in-process on port 0 and may swap the
 * adapters, runProcess or the callback's fetch and schedule.
 */
import type { AddressInfo } from "node:net";
import type { CliName } from "@vault-mcp/contract";
import type { CallbackOptions } from "./callback.ts";
import { type AdapterRegistry, makeAdapters } from "./clis/index.ts";
import type { ExecutorConfig } from "./config.ts";
import { type CliInfo, probeClis } from "./health.ts";
import type { ProcessOutcome, RunProcessOptions } from "./interfaces.ts";
import { JobRunner } from "./jobs/runner.ts";
import { JobStore } from "./jobs/store.ts";
import { log, setLogLevel } from "./log.ts";
import { loadPrices } from "./pricing.ts";
import { runProcess as realRunProcess } from "./process/run.ts";
import { loadProfiles } from "./profiles.ts";
import { JobQueue } from "./queue.ts";
import { createSandbox, SANDBOX_OFF } from "./sandbox/sandbox.ts";
import { type App, createApp } from "./server/app.ts";
import { shutdown } from "./shutdown.ts";
import { GitWorktreeManager } from "./worktree/manager.ts";

export interface ExecutorOverrides {
  adapters?: AdapterRegistry;
  runProcess?: (o: RunProcessOptions) => Promise<ProcessOutcome>;
  /** Where profile `${VAR}` references are read from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  callback?: Omit<CallbackOptions, "signal">;
  /** Probe the CLIs' `--version` at start-up (default true). */
  probeClis?: boolean;
}

export interface Executor {
  app: App;
  store: JobStore;
  queue: JobQueue;
  runner: JobRunner;
  worktrees: GitWorktreeManager;
  /** Jobs found `running` or `queued` at start-up (a previous process died): now `interrupted`. */
  recovered: readonly string[];
  /** Resolves with the URL once listening. */
  listen(): Promise<string>;
  /** SIGTERM behaviour (shutdown.ts). */
  shutdown(): Promise<void>;
}

const SWEEP_EVERY_MS = 10 * 60_000;

export function createExecutor(config: ExecutorConfig, o: ExecutorOverrides = {}): Executor {
  setLogLevel(config.LOG_LEVEL);
  const runProcess = o.runProcess ?? realRunProcess;
  const store = new JobStore(config.DATA_DIR);
  // Before anything runs: what a dead process left `running` or `queued` reads `interrupted`.
  const recovered = store.recover(new Date().toISOString());
  if (recovered.length)
    log("warn", "jobs_interrupted_by_restart", { count: recovered.length, jobIds: recovered.slice(0, 50) });

  // Throws SandboxSetupError (exit 2) when on but unable to work: never a silent fallback to off.
  const sandbox = createSandbox(config, runProcess);
  const worktrees = new GitWorktreeManager({
    reposDir: config.REPOS_DIR,
    worktreesDir: config.WORKTREES_DIR,
    allowlist: config.REPO_ALLOWLIST,
    keepFailedMs: config.KEEP_FAILED_MS,
    poolSize: config.WORKTREE_POOL,
    ...(sandbox ? { slots: sandbox.slots() } : {}),
  });
  const adapters = o.adapters ?? makeAdapters(loadPrices(config.PRICES_FILE));
  const env = o.env ?? process.env;
  const profiles = loadProfiles(config.PROFILES_FILE, env);
  // A profile whose key is unset still runs (and fails with an auth error the ladder handles).
  if (Object.keys(profiles.missingEnv).length) log("warn", "profiles_missing_env", { missing: profiles.missingEnv });
  const queue = new JobQueue(config.MAX_EXECUTORS, config.MAX_QUEUE);
  const runner = new JobRunner({
    config,
    store,
    worktrees,
    adapters,
    profiles,
    runProcess,
    env,
    sandbox,
    ...(o.callback ? { callback: o.callback } : {}),
  });
  const jobs = new AbortController();
  let clis: Record<CliName, CliInfo> | null = null;
  const app = createApp({
    config,
    store,
    queue,
    runner,
    checkRepo: (repo) => worktrees.repoPath(repo),
    jobSignal: jobs.signal,
    clis: () => clis,
    sandbox: () => sandbox?.status() ?? SANDBOX_OFF,
    startedAt: Date.now(),
  });

  for (const rec of store.pendingCallbacks()) runner.deliver(rec.id);
  if (o.probeClis !== false) {
    void probeClis({ claude: config.CLAUDE_BIN, codex: config.CODEX_BIN, gemini: config.GEMINI_BIN }, runProcess).then(
      (c) => {
        clis = c;
        log(
          "info",
          "clis_probed",
          Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.found ? (v.version ?? "found") : "missing"])),
        );
      },
    );
  }
  let stopping: Promise<void> | undefined;
  const sweep = setInterval(
    () => void worktrees.sweep().catch((err: unknown) => log("warn", "worktree_sweep_failed", { error: String(err) })),
    SWEEP_EVERY_MS,
  );
  sweep.unref();

  return {
    app,
    store,
    queue,
    runner,
    worktrees,
    recovered,
    listen: async () => {
      // The firewall and the self-check come before the first job can arrive.
      await sandbox?.start(env);
      const port = await new Promise<number>((resolve, reject) => {
        app.server.once("error", reject);
        app.server.listen(config.PORT, config.HOST, () => {
          app.server.off("error", reject);
          resolve((app.server.address() as AddressInfo).port);
        });
      });
      await sandbox?.listening(port);
      return `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`;
    },
    shutdown: () => {
      clearInterval(sweep);
      stopping ??= shutdown({ app, queue, runner, store, jobs, graceMs: config.SHUTDOWN_GRACE_MS }).finally(() =>
        sandbox?.stop(),
      );
      return stopping;
    },
  };
}
