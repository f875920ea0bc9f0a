/** Wires config → store → worktrees → adapters → queue → runner → HTTP app. Used by main.ts and tests. */
import type { AddressInfo } from "node:net";
import type { CliName } from "@vault-mcp/contract";
import { makeAdapters, type AdapterRegistry } from "./clis/index.ts";
import type { ExecutorConfig } from "./config.ts";
import { probeClis, type CliInfo } from "./health.ts";
import type { ProcessOutcome, RunProcessOptions, WorktreeManager } from "./interfaces.ts";
import { JobRunner } from "./jobs/runner.ts";
import { JobStore } from "./jobs/store.ts";
import { log, setLogLevel } from "./log.ts";
import { runProcess as realRunProcess } from "./process/run.ts";
import { loadPrices } from "./pricing.ts";
import { loadProfiles } from "./profiles.ts";
import { JobQueue } from "./queue.ts";
import { createApp, type App } from "./server/app.ts";
import { GitWorktreeManager } from "./worktree/manager.ts";

export interface ExecutorOverrides {
  adapters?: AdapterRegistry;
  runProcess?: (o: RunProcessOptions) => Promise<ProcessOutcome>;
  env?: Readonly<Record<string, string | undefined>>;
  callbackFetch?: typeof fetch;
  probeClis?: boolean;
}

export interface Executor {
  app: App;
  store: JobStore;
  queue: JobQueue;
  runner: JobRunner;
  worktrees: GitWorktreeManager;
  listen(): Promise<string>;
  /** SIGTERM behaviour: 503 for new jobs, let running ones end within the grace, then kill them. */
  shutdown(): Promise<void>;
}

export function createExecutor(config: ExecutorConfig, o: ExecutorOverrides = {}): Executor {
  setLogLevel(config.LOG_LEVEL);
  const runProcess = o.runProcess ?? realRunProcess;
  const store = new JobStore(config.DATA_DIR);
  const worktrees = new GitWorktreeManager({
    reposDir: config.REPOS_DIR,
    worktreesDir: config.WORKTREES_DIR,
    allowlist: config.REPO_ALLOWLIST,
    keepFailedMs: config.KEEP_FAILED_MS,
    poolSize: config.WORKTREE_POOL,
  });
  const adapters = o.adapters ?? makeAdapters(loadPrices(config.PRICES_FILE));
  const profiles = loadProfiles(config.PROFILES_FILE);
  const queue = new JobQueue(config.MAX_EXECUTORS, config.MAX_QUEUE);
  const runner = new JobRunner({
    config,
    store,
    worktrees: worktrees satisfies WorktreeManager,
    adapters,
    profiles,
    runProcess,
    env: o.env ?? process.env,
    ...(o.callbackFetch ? { callbackFetch: o.callbackFetch } : {}),
  });
  const abort = new AbortController();
  let clis: Record<CliName, CliInfo> | null = null;
  const app = createApp({ config, store, queue, runner, worktrees, abort, clis: () => clis, startedAt: Date.now() });

  // A crash left some jobs mid-run: they read `interrupted` (their CLIs died with us) and are
  // owed a callback; jobs that never started run now.
  const recovered = store.recover(new Date().toISOString());
  if (recovered.interrupted.length || recovered.requeued.length) log("warn", "jobs_recovered", recovered);
  for (const id of recovered.requeued) {
    const rec = store.get(id);
    if (rec) queue.submit({ id, slots: runner.sidesFor(rec.request).length, run: () => runner.run(id, abort.signal) });
  }
  for (const rec of store.pendingCallbacks()) void runner.deliver(rec.id);
  if (o.probeClis !== false) {
    void probeClis({ claude: config.CLAUDE_BIN, codex: config.CODEX_BIN, gemini: config.GEMINI_BIN }, runProcess).then((c) => {
      clis = c;
    });
  }
  const sweep = setInterval(() => void worktrees.sweep().catch(() => undefined), 10 * 60_000);
  sweep.unref();

  return {
    app,
    store,
    queue,
    runner,
    worktrees,
    listen: () =>
      new Promise((resolve) => {
        app.server.listen(config.PORT, config.HOST, () => {
          const addr = app.server.address() as AddressInfo;
          resolve(`http://${config.HOST}:${addr.port}`);
        });
      }),
    async shutdown() {
      app.startDraining();
      clearInterval(sweep);
      const grace = new Promise<"grace">((r) => setTimeout(() => r("grace"), config.SHUTDOWN_GRACE_MS).unref());
      queue.drain(); // not started: they stay `queued` in the store and run after the restart
      if ((await Promise.race([queue.idle().then(() => "idle" as const), grace])) === "grace") {
        log("warn", "shutdown_killing_jobs", { running: queue.running });
        abort.abort();
        await queue.idle();
      }
      await runner.settle();
      // Keep-alive sockets would hold close() open forever: close them once no job is left.
      const closed = new Promise<void>((r) => app.server.close(() => r()));
      app.server.closeAllConnections();
      await closed;
      store.close();
    },
  };
}
