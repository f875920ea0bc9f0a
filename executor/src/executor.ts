/**
 * Wires config → store (+ crash recovery) → worktrees → adapters → queue → runner → HTTP app.
 * listen() first reconciles the disk with the store (recovery.ts), then accepts requests.
 * main.ts runs it as the service; tests and benches run it in-process on port 0 and may swap the
 * adapters, runProcess or the callback's fetch and schedule.
 */
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { CliName } from "@vault-mcp/contract";
import type { CallbackOptions } from "./callback.ts";
import { type AdapterRegistry, makeAdapters } from "./clis/index.ts";
import { cliBins, type ExecutorConfig } from "./config.ts";
import { Delivery } from "./delivery/deliver.ts";
import { DiskMeter, logMeasureFailed } from "./disk.ts";
import { type CliInfo, probeClis } from "./health.ts";
import type { ProcessOutcome, RunProcessOptions } from "./interfaces.ts";
import { JobRunner } from "./jobs/runner.ts";
import { JobStore, type ProcessRecord, STORE_FILE } from "./jobs/store.ts";
import { log, setLogLevel } from "./log.ts";
import { loadPrices } from "./pricing.ts";
import { killOrphans } from "./process/orphans.ts";
import { runProcess as realRunProcess } from "./process/run.ts";
import { loadProfiles } from "./profiles.ts";
import { JobQueue } from "./queue.ts";
import { readiness } from "./readiness.ts";
import {
  cleanDisk,
  harvestInterrupted,
  jobsWithHomes,
  purgeOld,
  type RecoveryParts,
  type RecoveryReport,
} from "./recovery.ts";
import { credentialsFileProblem } from "./remote/credentials.ts";
import { RepoSources } from "./remote/sources.ts";
import { type AgentSandbox, createSandbox, SANDBOX_OFF } from "./sandbox/sandbox.ts";
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
  /** Jobs whose run a previous process had started when it died: now `interrupted`. */
  recovered: readonly string[];
  /** Jobs a previous process left that never started: queued again, they run after listen(). */
  requeued: readonly string[];
  /** What listen() found on disk from before (null until then). */
  readonly reconciled: RecoveryReport | null;
  disk: DiskMeter;
  /** Resolves with the URL once listening. */
  listen(): Promise<string>;
  /** SIGTERM behaviour (shutdown.ts). */
  shutdown(): Promise<void>;
}

const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * What the runs of a dead executor still run: processes carrying their marker or recorded with their
 * start time (process/orphans.ts) and, with the sandbox on, everything of every slot identity, which
 * must be gone before a slot is used (a survivor there stops the start).
 */
async function killLeftovers(records: readonly ProcessRecord[], sandbox: AgentSandbox | null): Promise<void> {
  const { killed, survivors } = await killOrphans(records);
  if (killed.length > 0) log("warn", "orphans_killed", { pids: killed.slice(0, 50) });
  if (survivors.length > 0) log("error", "orphans_survived", { pids: survivors.slice(0, 50) });
  await sandbox?.killLeftovers();
}

export function createExecutor(config: ExecutorConfig, o: ExecutorOverrides = {}): Executor {
  setLogLevel(config.LOG_LEVEL);
  const runProcess = o.runProcess ?? realRunProcess;
  const store = new JobStore(config.DATA_DIR);
  // Before anything runs: of what a dead process left `running` or `queued`, a job whose run had
  // started reads `interrupted`; one that never started is queued again (it runs once listen() is done).
  const { interrupted: recovered, requeued } = store.recover(new Date().toISOString(), jobsWithHomes(config.DATA_DIR));
  if (recovered.length)
    log("warn", "jobs_interrupted_by_restart", { count: recovered.length, jobIds: recovered.slice(0, 50) });
  if (requeued.length)
    log("info", "jobs_requeued_after_restart", { count: requeued.length, jobIds: requeued.slice(0, 50) });
  // The processes the dead executor's runs had started, while their records are still there.
  const leftovers = store.processes();

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
  const credentials = credentialsFileProblem(config.GIT_CREDENTIALS);
  if (credentials) log("warn", credentials.event, { file: config.GIT_CREDENTIALS, fix: credentials.fix });
  const sources = new RepoSources({
    reposDir: config.REPOS_DIR,
    credentialsFile: config.GIT_CREDENTIALS,
    fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    cloneTimeoutMs: config.CLONE_TIMEOUT_MS,
  });
  const repoPath = (repo: string) => worktrees.repoPath(repo);
  const delivery = new Delivery({ config, store, repoPath });
  const prices = loadPrices(config.PRICES_FILE);
  const adapters = o.adapters ?? makeAdapters(prices);
  const env = o.env ?? process.env;
  const profiles = loadProfiles(config.PROFILES_FILE, env);
  // A profile that is not ready is reported (GET /health) and its jobs fail at once as `setup`.
  if (Object.keys(profiles.missingEnv).length) log("warn", "profiles_missing_env", { missing: profiles.missingEnv });
  const queue = new JobQueue(config.MAX_EXECUTORS, config.MAX_QUEUE);
  const runner = new JobRunner({
    config,
    store,
    worktrees,
    adapters,
    profiles,
    prices,
    runProcess,
    env,
    sandbox,
    sources,
    ...(o.callback ? { callback: o.callback } : {}),
  });
  const jobs = new AbortController();
  let clis: Record<CliName, CliInfo> | null = null;
  const disk = new DiskMeter({
    worktreesDir: config.WORKTREES_DIR,
    homesDir: path.join(config.DATA_DIR, "homes"),
    storeFile: path.join(config.DATA_DIR, STORE_FILE),
  });
  const found = (cli: CliName) => (clis === null ? null : clis[cli].found);
  const app = createApp({
    config,
    store,
    queue,
    runner,
    checkRepo: (repo, source) => (source ? sources.check(repo) : worktrees.repoPath(repo)),
    jobRoutes: { delivery, repoPath },
    repos: () => worktrees.repos(),
    readiness: () =>
      readiness(profiles, {
        env,
        loginsDir: config.LOGINS_DIR,
        found: { claude: found("claude"), codex: found("codex"), gemini: found("gemini") },
      }),
    direct: profiles.direct,
    disk: () => disk.current(),
    jobSignal: jobs.signal,
    clis: () => clis,
    sandbox: () => sandbox?.status() ?? SANDBOX_OFF,
    startedAt: Date.now(),
  });

  if (o.probeClis !== false) {
    void probeClis(cliBins(config), runProcess).then(
      (c) => {
        clis = c;
        log(
          "info",
          "clis_probed",
          Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.found ? (v.version ?? "found") : "missing"])),
        );
      },
      // Nobody awaits the probe: /health keeps `clis: null` (not probed), and the log says why.
      (err: unknown) => log("warn", "clis_probe_failed", { error: String(err) }),
    );
  }
  let stopping: Promise<void> | undefined;
  const sweep = setInterval(() => {
    // A timer's last handler: a failure is logged and the next sweep tries again.
    void worktrees.sweep().catch((err: unknown) => log("warn", "worktree_sweep_failed", { error: String(err) }));
    try {
      const purged = purgeOld(store, config.JOB_RETENTION_DAYS, new Date());
      if (purged > 0) log("info", "jobs_purged", { count: purged, retentionDays: config.JOB_RETENTION_DAYS });
    } catch (err) {
      log("error", "jobs_purge_failed", { error: String(err) });
    }
  }, SWEEP_EVERY_MS);
  sweep.unref();

  /** A job that never started, back in the queue after a restart (ahead of new ones, beyond MAX_QUEUE). */
  const requeue = (id: string) => {
    const rec = store.get(id);
    if (rec?.status !== "queued") return;
    let slots = 1;
    try {
      slots = runner.sidesFor(rec.request).length;
    } catch {
      // Its profile is gone from the config: the run fails it with the reason (one slot meanwhile).
    }
    queue.requeue({ id, slots, run: () => runner.run(id, jobs.signal) });
  };

  let reconciled: RecoveryReport | null = null;
  const executor: Executor = {
    app,
    store,
    queue,
    runner,
    worktrees,
    recovered,
    requeued,
    get reconciled() {
      return reconciled;
    },
    disk,
    async listen() {
      // Before the first request no job can run, so every leftover home and tree is stale: the usage
      // a killed run had logged is read first; then the sandbox closes what runs left open to their
      // slots (and checks itself, and sets up its firewall); then the rest is removed.
      const parts: RecoveryParts = {
        dataDir: config.DATA_DIR,
        store,
        runner,
        worktrees,
        adapters,
        prices,
        retentionDays: config.JOB_RETENTION_DAYS,
        unknownCostUsd: config.UNKNOWN_COST_USD,
        recovered,
        ...(sandbox ? { slots: sandbox.slots() } : {}),
      };
      if (reconciled === null) {
        // First what the dead executor's runs still run, so their logs are final and no slot is
        // reused under them; then their cost; then the disk.
        await killLeftovers(leftovers, sandbox);
        const costs = await harvestInterrupted({ ...parts, spawned: new Set(leftovers.map((p) => p.run)) });
        store.clearProcesses([...new Set(leftovers.map((p) => p.jobId))]);
        await sandbox?.start(env);
        reconciled = await cleanDisk(parts, costs);
        for (const id of requeued) requeue(id);
      } else await sandbox?.start(env);
      // After it: an interrupted job's callback then carries the cost recovered from its logs.
      for (const rec of store.pendingCallbacks()) runner.callbacks.deliver(rec.id);
      void disk.measure().catch(logMeasureFailed);
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
  return executor;
}
