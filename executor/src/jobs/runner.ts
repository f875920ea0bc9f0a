/**
 * Runs one job: worktree → CLI → parse → verify → collect → compress → store → callback. For
 * `consensus` it runs both profiles at once in two worktrees and compares them. Every dependency
 * (worktrees, adapters, runProcess, compress, compareRuns, clock, callback fetch) is injected, so
 * the runner is tested on its own.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import type { JobBase, JobRequest, JobResult, JobStatus, ProfileReadiness, RunResult } from "@vault-mcp/contract";
import { type CallbackOptions, sendCallback } from "../callback.ts";
import type { AdapterRegistry } from "../clis/index.ts";
import { compress as realCompress } from "../compress/index.ts";
import { cliBins, type ExecutorConfig } from "../config.ts";
import { compareRuns as realCompareRuns } from "../consensus.ts";
import { which } from "../health.ts";
import type {
  CompareRuns,
  Compress,
  ProcessOutcome,
  RunProcessOptions,
  Worktree,
  WorktreeManager,
} from "../interfaces.ts";
import { debugEnabled, log } from "../log.ts";
import { copyLogin, type LoginCopy, LoginLocks, writeBackLogin } from "../login-sync.ts";
import type { PriceTable } from "../pricing.ts";
import { type LoadedProfiles, type ResolvedSide, resolveSides } from "../profiles.ts";
import { loginHome, profileReadiness } from "../readiness.ts";
import type { RepoSources } from "../remote/sources.ts";
import { createHome, type HomeOwner, handOver, removeHome } from "../sandbox/homes.ts";
import type { AgentSandbox } from "../sandbox/sandbox.ts";
import { priceUsage, totalTokens, UsageTracker, watchBudget } from "../usage/tracker.ts";
import { runVerify } from "../verify.ts";
import { buildResult, EMPTY, failedRun, type SideOutcome } from "./build-result.ts";
import { type JobStore, toView } from "./store.ts";

export type RunnerConfig = Pick<
  ExecutorConfig,
  | "DATA_DIR"
  | "DEFAULT_TIMEOUT_MS"
  | "MAX_TIMEOUT_MS"
  | "KILL_GRACE_MS"
  | "VERIFY_TIMEOUT_MS"
  | "CALLBACK_SECRET"
  | "CLAUDE_BIN"
  | "CODEX_BIN"
  | "GEMINI_BIN"
  | "LOGINS_DIR"
>;

export interface RunnerDeps {
  config: RunnerConfig;
  store: JobStore;
  worktrees: WorktreeManager;
  adapters: AdapterRegistry;
  profiles: LoadedProfiles;
  /** Prices the usage a run logs while it goes (budget, killed runs). */
  prices: PriceTable;
  runProcess: (o: RunProcessOptions) => Promise<ProcessOutcome>;
  /** Where profile `${VAR}` references are read from. */
  env: Readonly<Record<string, string | undefined>>;
  compress?: Compress;
  compareRuns?: CompareRuns;
  now?: () => Date;
  /** Finds a CLI's executable (default: PATH lookup, health.ts). */
  which?: (bin: string) => Promise<string | null>;
  /** Retry schedule and fetch for callbacks (tests shorten the backoff). */
  callback?: Omit<CallbackOptions, "signal">;
  /** Runs each CLI and verify as a slot identity; null/absent = AGENT_SANDBOX=off. */
  sandbox?: AgentSandbox | null;
  /** Clones and fetches repos registered by URL (a job's `source`); absent: such jobs fail as `setup`. */
  sources?: RepoSources;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class JobRunner {
  /** Emits `done` with the job id when a job reaches a terminal status. */
  readonly events = new EventEmitter();

  private readonly deps: RunnerDeps;
  private readonly now: () => Date;
  private readonly compress: Compress;
  private readonly compareRuns: CompareRuns;
  /** Worktree releases and home removals, off the job's critical path. */
  private readonly cleanups = new Set<Promise<void>>();
  /** Callbacks being delivered; they hold no queue slot. */
  private readonly deliveries = new Map<string, Promise<void>>();
  private readonly stopCallbacks = new AbortController();
  /** Sandboxed runs of a login whose refresh token is single-use take turns (login-sync.ts). */
  private readonly loginLocks = new LoginLocks();

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
    this.compress = deps.compress ?? realCompress;
    this.compareRuns = deps.compareRuns ?? realCompareRuns;
    this.events.setMaxListeners(0);
  }

  private track(p: Promise<void>): void {
    this.cleanups.add(p);
    void p.finally(() => this.cleanups.delete(p));
  }

  /** Waits for worktree releases still running (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all([...this.cleanups]);
  }

  /** The job's CLI timeout: the request may ask for less than the default, never more than the max. */
  timeoutFor(req: Pick<JobRequest, "timeoutMs">): number {
    return Math.min(req.timeoutMs ?? this.deps.config.DEFAULT_TIMEOUT_MS, this.deps.config.MAX_TIMEOUT_MS);
  }

  /** Throws ProfileError for a profile the config does not define. */
  sidesFor(req: JobRequest): ResolvedSide[] {
    return resolveSides(this.deps.profiles, req, this.deps.env);
  }

  async run(jobId: string, signal: AbortSignal): Promise<void> {
    const { store } = this.deps;
    const rec = store.get(jobId);
    if (rec?.status !== "queued") return;
    const req = rec.request;
    store.markRunning(jobId, this.now().toISOString());
    log("info", "job_started", {
      jobId,
      jobKey: req.jobKey,
      profile: req.profile ?? req.executor,
      repo: req.repo,
      ...(debugEnabled() ? { prompt: req.prompt } : {}),
    });
    let status: JobStatus;
    let result: JobResult | null;
    try {
      const sides = this.sidesFor(req);
      const consensus = sides.length > 1;
      // Both sides of a consensus run at once, so each gets an equal share of what is left.
      const budget = req.maxBudgetUsd === undefined ? undefined : req.maxBudgetUsd / sides.length;
      // Fetched once for both sides of a consensus, so they start from the same commit.
      const fetched = await this.fetchSource(jobId, req);
      const outcomes =
        "error" in fetched
          ? sides.map((side) => ({
              side,
              run: failedRun(side, "setup", fetched.error),
              collected: EMPTY,
              branch: null,
            }))
          : await Promise.all(
              sides.map((side, i) =>
                this.runSide(jobId, req, side, consensus ? `-${"ab"[i]}` : "", signal, budget, consensus, fetched.base),
              ),
            );
      result = buildResult(req, outcomes, this.compress, this.compareRuns, "error" in fetched ? null : fetched.base);
      const cut = signal.aborted || outcomes.some((o) => o.run.error?.kind === "interrupted");
      status = result.ok ? "succeeded" : cut ? "interrupted" : "failed";
    } catch (err) {
      log("error", "job_crashed", { jobId, error: errText(err) });
      status = signal.aborted ? "interrupted" : "failed";
      result = null;
    }
    store.finish(jobId, status, result, this.now().toISOString(), Boolean(req.callbackUrl));
    log("info", "job_finished", {
      jobId,
      status,
      costUsd: result?.costUsd ?? 0,
      errorKind: result?.run.error?.kind ?? null,
    });
    this.events.emit("done", jobId);
    this.deliver(jobId);
  }

  /** Ends a job that will not run (drained at shutdown): `interrupted`, callback owed. */
  interrupt(jobId: string): void {
    this.deps.store.interrupt(jobId, this.now().toISOString());
    log("warn", "job_interrupted", { jobId });
    this.events.emit("done", jobId);
    this.deliver(jobId);
  }

  /**
   * Starts delivering the job's callback if one is owed (after a job, and at start-up for callbacks
   * owed from before a restart). Never holds a queue slot; at most one delivery per job at a time.
   */
  deliver(jobId: string): void {
    const rec = this.deps.store.get(jobId);
    if (!rec?.request.callbackUrl || rec.callbackState !== "pending" || this.deliveries.has(jobId)) return;
    const url = rec.request.callbackUrl;
    const p = (async () => {
      const sent = await sendCallback(url, this.deps.config.CALLBACK_SECRET, toView(rec), {
        ...this.deps.callback,
        signal: this.stopCallbacks.signal,
      });
      if (!sent.ok && sent.reason === "stopped") {
        // Still `pending` in the store: the next start sends it.
        this.deps.store.callbackAttempted(jobId, sent.attempts);
        return;
      }
      this.deps.store.callbackDone(jobId, sent.ok ? "sent" : "failed", sent.attempts);
      log(sent.ok ? "info" : "warn", sent.ok ? "callback_sent" : "callback_failed", { jobId, attempts: sent.attempts });
    })()
      .catch((err: unknown) => log("error", "callback_crashed", { jobId, error: errText(err) }))
      .finally(() => this.deliveries.delete(jobId));
    this.deliveries.set(jobId, p);
  }

  /** Shutdown: lets callbacks in flight finish until `deadline` (epoch ms), then stops them (they stay owed). */
  async flushCallbacks(deadline: number): Promise<void> {
    const all = Promise.all([...this.deliveries.values()]);
    const wait = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, wait)))]);
    clearTimeout(timer);
    this.stopCallbacks.abort();
    await all;
  }

  /** A job with `source`: its repo cloned or fetched (remote/sources.ts); without: nothing to do. */
  private async fetchSource(jobId: string, req: JobRequest): Promise<{ base: JobBase | null } | { error: string }> {
    if (!req.source) return { base: null };
    if (!this.deps.sources) return { error: "this executor cannot clone repos registered by URL" };
    try {
      return { base: await this.deps.sources.prepare(req.repo, req.source) };
    } catch (err) {
      log("warn", "job_source_failed", { jobId, repo: req.repo, error: errText(err) });
      return { error: errText(err) };
    }
  }

  /** Whether a side can run now: its CLI is installed and its credential or login is there. */
  async readinessOf(side: ResolvedSide): Promise<ProfileReadiness> {
    const { config, profiles, env } = this.deps;
    const p = profiles.profiles[side.name];
    const lookup = this.deps.which ?? which;
    const installed = (await lookup(cliBins(config)[side.cli])) !== null;
    const found = { claude: null, codex: null, gemini: null, [side.cli]: installed };
    if (!p)
      return { cli: side.cli, model: side.model, auth: side.auth, ready: false, missing: `no profile '${side.name}'` };
    return profileReadiness(p, { env, loginsDir: config.LOGINS_DIR, found });
  }

  private async runSide(
    jobId: string,
    req: JobRequest,
    side: ResolvedSide,
    suffix: string,
    signal: AbortSignal,
    budgetUsd: number | undefined,
    diffs: boolean,
    fetched: JobBase | null,
  ): Promise<SideOutcome> {
    const { config, worktrees, adapters } = this.deps;
    // Before a slot, a worktree or a CLI: a missing CLI, key or login fails now, as the executor's setup.
    const ready = await this.readinessOf(side);
    if (!ready.ready)
      return { side, run: failedRun(side, "setup", ready.missing ?? "not ready"), collected: EMPTY, branch: null };
    // The identity is held until this side's cleanup is done: its next run starts on a clean slot.
    const lease = this.deps.sandbox ? await this.deps.sandbox.lease() : null;
    const run = (o: RunProcessOptions) => (lease ? lease.run(o) : this.deps.runProcess(o));
    let wt: Worktree;
    try {
      // A repo registered by URL starts from the commit just fetched, unless the job names its own ref.
      wt = await worktrees.acquire(req.repo, req.ref ?? fetched?.commit, `${jobId}${suffix}`, lease ?? undefined);
    } catch (err) {
      lease?.release();
      return { side, run: failedRun(side, "crash", `worktree: ${errText(err)}`), collected: EMPTY, branch: null };
    }
    const baseCommit = wt.baseCommit;
    const adapter = adapters[side.cli];
    const sandboxed = lease !== null;
    const loginDir = loginHome(config.LOGINS_DIR, side.cli);
    const login = adapter.loginFiles({ auth: side.auth, sandboxed });
    let releaseLogin: (() => void) | null = null;
    let home: string | null = null;
    let ok = false;
    try {
      home = await createHome(path.join(config.DATA_DIR, "homes"), `${jobId}${suffix}`, lease);
      const bins = { CLAUDE_BIN: config.CLAUDE_BIN, CODEX_BIN: config.CODEX_BIN, GEMINI_BIN: config.GEMINI_BIN };
      const inv = await adapter.prepare({
        prompt: req.prompt,
        model: side.model,
        cwd: wt.path,
        home,
        profileEnv: { ...bins, ...side.env },
        auth: side.auth,
        loginHome: loginDir,
        sandboxed,
        ...(budgetUsd !== undefined ? { maxBudgetUsd: budgetUsd } : {}),
      });
      let loginCopy: LoginCopy | null = null;
      if (login) {
        if (login.exclusive) releaseLogin = await this.loginLocks.acquire(loginDir);
        loginCopy = await copyLogin(login, loginDir, home);
      }
      // Whatever prepare put in the home (configs, a copy of a login) is the run's; nothing else is.
      await handOver(home, lease);
      if (signal.aborted)
        return {
          side,
          run: failedRun(side, "interrupted", "stopped by executor shutdown before the CLI started"),
          collected: EMPTY,
          branch: wt.branch,
          baseCommit,
        };
      const usageLog = adapter.usageLog(side.auth, sandboxed);
      const tracker = usageLog ? new UsageTracker(usageLog, home, side.model) : null;
      const overBudget = new AbortController();
      const monitor =
        budgetUsd !== undefined && tracker && !adapter.stopsAtBudget
          ? watchBudget(tracker, this.deps.prices, budgetUsd, () => overBudget.abort())
          : null;
      const outcome = await run({
        argv: inv.argv,
        cwd: wt.path,
        env: inv.env,
        stdin: inv.stdin,
        timeoutMs: this.timeoutFor(req),
        killGraceMs: config.KILL_GRACE_MS,
        signal: AbortSignal.any([signal, overBudget.signal]),
      });
      const overAt = (await monitor?.stop()) ?? null;
      let result = adapter.parse(outcome, { model: side.model, cli: side.cli });
      // Only a run we stopped reads `budget`: one that ended by itself meanwhile keeps its own result.
      if (overAt !== null && outcome.aborted && !signal.aborted)
        result = {
          ...result,
          ok: false,
          error: {
            kind: "budget",
            message: `stopped: the usage ${side.cli} logged while running reached $${overAt.toFixed(4)}, over this run's budget of $${budgetUsd}`,
          },
        };
      if (login && loginCopy) {
        // Before verify runs in the same home: only what the CLI itself refreshed goes back.
        await lease?.reap();
        await writeBackLogin(login, loginCopy, loginDir, home, lease).catch((err: unknown) =>
          log("warn", "login_write_back_failed", { jobId, cli: side.cli, error: errText(err) }),
        );
        releaseLogin?.();
        releaseLogin = null;
      }
      if (tracker) result = await this.withLoggedUsage(result, tracker, home, lease);
      const verify =
        req.verify && result.ok
          ? await runVerify(run, req.verify, wt.path, home, config.VERIFY_TIMEOUT_MS, signal)
          : undefined;
      const collected = await worktrees.collect(wt, { diffs });
      ok = result.ok && (verify?.ok ?? true);
      return { side, run: result, ...(verify ? { verify } : {}), collected, branch: wt.branch, baseCommit };
    } catch (err) {
      return { side, run: failedRun(side, "crash", errText(err)), collected: EMPTY, branch: wt.branch, baseCommit };
    } finally {
      releaseLogin?.();
      // Off the job's critical path: the result does not wait for the tree to be cleaned. A failed
      // run's worktree is kept (for the TTL) so a human can look at what the agent left. First,
      // whatever the identity still runs (a daemon that left the CLI's group, a server a test
      // started) is killed, so nothing writes into the tree or survives into the slot's next run.
      const keep = !ok;
      const runHome = home;
      this.track(
        (async () => {
          await lease?.reap().catch((err: unknown) => log("warn", "reap_failed", { jobId, error: errText(err) }));
          await worktrees
            .release(wt, { keep })
            .catch((err: unknown) => log("warn", "worktree_release_failed", { jobId, error: errText(err) }));
          if (runHome !== null)
            await removeHome(runHome, lease).catch((err: unknown) =>
              log("warn", "home_remove_failed", { jobId, error: errText(err) }),
            );
        })().finally(() => lease?.release()),
      );
    }
  }

  /**
   * A run that reported no usage (killed by a timeout, the budget or a shutdown; claude's result JSON
   * and codex's turn.completed come only at the end) still spent what its session log shows: that
   * usage, priced with our table, is its cost, so the Worker can count it.
   */
  private async withLoggedUsage(
    run: RunResult,
    tracker: UsageTracker,
    home: string,
    owner: HomeOwner | null,
  ): Promise<RunResult> {
    const reported = run.tokens.input + run.tokens.output + run.tokens.cacheRead + run.tokens.cacheWrite;
    if (reported > 0 && run.costUsd > 0) return run;
    // As an agent identity the CLI may have kept its log to itself (claude writes it 0600).
    await owner?.fixPermissions(home).catch(() => undefined);
    const usage = await tracker.poll().catch(() => []);
    if (usage.length === 0) return run;
    const costUsd = priceUsage(this.deps.prices, usage);
    if (costUsd <= run.costUsd) return run;
    return { ...run, tokens: totalTokens(usage), costUsd, costSource: "computed" };
  }

  /** The result of a job a restart cut short, from what each side's CLI had logged (null: nothing). */
  interruptedResult(req: JobRequest, sides: readonly ResolvedSide[], runs: readonly (RunResult | null)[]): JobResult {
    const outcomes = sides.map((side, i) => ({
      side,
      run: runs[i] ?? failedRun(side, "interrupted", "the executor stopped while this run was going"),
      collected: EMPTY,
      branch: null,
    }));
    return buildResult(req, outcomes, this.compress, this.compareRuns);
  }
}
