/**
 * Runs one job: worktree → CLI → parse → verify → collect → compress → store → callback. For
 * `consensus` it runs both profiles at once in two worktrees and compares them. Every dependency
 * (worktrees, adapters, runProcess, compress, compareRuns, clock, callback fetch) is injected, so
 * the runner is tested on its own.
 */
import { EventEmitter } from "node:events";
import path from "node:path";
import type { JobBase, JobRequest, JobResult, JobStatus, ProfileReadiness, RunResult } from "@vault-mcp/contract";
import type { CallbackOptions } from "../callback.ts";
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
import { bootId, processRecord, RUN_MARKER } from "../process/orphans.ts";
import { type LoadedProfiles, type ResolvedSide, resolveSides } from "../profiles.ts";
import { loginHome, profileReadiness } from "../readiness.ts";
import { jobSource, type RepoSources } from "../remote/sources.ts";
import { createHome, type HomeOwner, handOver, removeHome } from "../sandbox/homes.ts";
import type { AgentSandbox } from "../sandbox/sandbox.ts";
import { costBound, readUsage, reportedUsage, settleCost, sideBudget, wasKilled } from "../usage/killed-run.ts";
import { UsageTracker, watchBudget } from "../usage/tracker.ts";
import { runVerify } from "../verify.ts";
import { WorktreeError } from "../worktree/errors.ts";
import { buildResult, EMPTY, failedRun, type SideOutcome } from "./build-result.ts";
import { CallbackDeliveries } from "./deliveries.ts";
import type { JobStore } from "./store.ts";

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
  | "UNKNOWN_COST_USD"
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

/** One side of a job: the job's only run, or one of a consensus's two. */
interface SideRun {
  jobId: string;
  req: JobRequest;
  side: ResolvedSide;
  /** Appended to the job id for the side's worktree and home: "" alone, "-a"/"-b" in a consensus. */
  suffix: string;
  signal: AbortSignal;
  /** The side's share of the job's maxBudgetUsd. */
  budgetUsd: number | undefined;
  /** Collect per-file diffs (a consensus compares them). */
  diffs: boolean;
  /** The fetched base of a repo registered by URL (null: a repo placed by hand). */
  fetched: JobBase | null;
}

/**
 * Past the first MiB of a CLI's output, its last 4 MiB are kept too: the result (claude's and
 * gemini's JSON, codex's last message and turn.completed) comes last, and a paid answer must not be
 * lost because the run printed a lot before it, or because the answer itself is over a MiB.
 */
const CLI_OUTPUT_TAIL_BYTES = 4 * 1024 * 1024;

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** For the log: a worktree error's detail (git's stderr, paths) is kept out of results. */
const describeError = (err: unknown) =>
  err instanceof WorktreeError && err.detail ? `${err.message}: ${err.detail}` : errText(err);

export class JobRunner {
  /** Emits `done` with the job id when a job reaches a terminal status. */
  readonly events = new EventEmitter();

  private readonly deps: RunnerDeps;
  private readonly now: () => Date;
  private readonly compress: Compress;
  private readonly compareRuns: CompareRuns;
  /** Worktree releases and home removals, off the job's critical path. */
  private readonly cleanups = new Set<Promise<void>>();
  /** Owed callbacks, sent until acknowledged (they hold no queue slot). */
  readonly callbacks: CallbackDeliveries;
  /** Sandboxed runs of a login whose refresh token is single-use take turns (login-sync.ts). */
  private readonly loginLocks = new LoginLocks();
  /** Recorded with each process a run spawns: its start time means something in this boot only. */
  private readonly boot = bootId();

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => new Date());
    this.compress = deps.compress ?? realCompress;
    this.compareRuns = deps.compareRuns ?? realCompareRuns;
    this.events.setMaxListeners(0);
    this.callbacks = new CallbackDeliveries({
      store: deps.store,
      secret: deps.config.CALLBACK_SECRET,
      ...(deps.callback ? { options: deps.callback } : {}),
    });
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
      const budget = sideBudget(req, sides.length);
      // Fetched once for both sides of a consensus, so they start from the same commit.
      const fetched = await jobSource(this.deps.sources, jobId, req);
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
                this.runSide({
                  jobId,
                  req,
                  side,
                  suffix: consensus ? `-${"ab"[i]}` : "",
                  signal,
                  budgetUsd: budget,
                  diffs: consensus,
                  fetched: fetched.base,
                }),
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
    // Stopped (shutdown) before any CLI of it started: nothing ran, so it waits for the next start.
    if (status === "interrupted" && signal.aborted && store.requeue(jobId)) {
      this.putBack(jobId);
      return;
    }
    try {
      store.finish(jobId, {
        status,
        result,
        finishedAt: this.now().toISOString(),
        callbackOwed: Boolean(req.callbackUrl),
      });
    } catch (err) {
      // The job stays `running` in the store (a restart reads it `interrupted`); the queue logs the
      // failure (job_run_failed). Whoever waits for the job is told it ended all the same.
      this.events.emit("done", jobId);
      throw err;
    }
    log("info", "job_finished", {
      jobId,
      status,
      costUsd: result?.costUsd ?? 0,
      errorKind: result?.run.error?.kind ?? null,
    });
    this.events.emit("done", jobId);
    this.callbacks.deliver(jobId);
  }

  /** Ends a job that will not run (the queue refused it after admission): `interrupted`, callback owed. */
  interrupt(jobId: string): void {
    this.deps.store.interrupt(jobId, this.now().toISOString());
    log("warn", "job_interrupted", { jobId });
    this.events.emit("done", jobId);
    this.callbacks.deliver(jobId);
  }

  /**
   * A job that did not start before shutdown: it stays `queued` in the store (no callback: it has not
   * ended) and the next start runs it. Whoever waits on it here is told to stop waiting.
   */
  putBack(jobId: string): void {
    log("info", "job_left_queued", { jobId });
    this.events.emit("done", jobId);
  }

  /**
   * A run's process options, marked and recorded: everything it starts carries RUN_MARKER=<run> in its
   * environment, and the process itself is in the job store (pid = group, start time) from its spawn
   * until the job ends. After a crash that is how the next start tells a run that had begun
   * (`interrupted`) from one that never did (queued again), and finds what it left running.
   */
  private tracked(jobId: string, run: string): (o: RunProcessOptions) => RunProcessOptions {
    return (o) => ({
      ...o,
      env: { ...o.env, [RUN_MARKER]: run },
      onSpawn: (pid) => {
        this.deps.store.recordProcess(processRecord(jobId, run, pid, this.boot));
        o.onSpawn?.(pid);
      },
    });
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

  private async runSide({
    jobId,
    req,
    side,
    suffix,
    signal,
    budgetUsd,
    diffs,
    fetched,
  }: SideRun): Promise<SideOutcome> {
    const { config, worktrees, adapters } = this.deps;
    // Before a slot, a worktree or a CLI: a missing CLI, key or login fails now, as the executor's setup.
    const ready = await this.readinessOf(side);
    if (!ready.ready)
      return { side, run: failedRun(side, "setup", ready.missing ?? "not ready"), collected: EMPTY, branch: null };
    // The identity is held until this side's cleanup is done: its next run starts on a clean slot.
    const lease = this.deps.sandbox ? await this.deps.sandbox.lease() : null;
    const tracked = this.tracked(jobId, `${jobId}${suffix}`);
    const run = (o: RunProcessOptions) => (lease ? lease.run(tracked(o)) : this.deps.runProcess(tracked(o)));
    let wt: Worktree;
    try {
      // A repo registered by URL starts from the commit just fetched, unless the job names its own ref.
      wt = await worktrees.acquire(req.repo, req.ref ?? fetched?.commit, `${jobId}${suffix}`, lease ?? undefined);
    } catch (err) {
      lease?.release();
      log("warn", "worktree_acquire_failed", { jobId, repo: req.repo, error: describeError(err) });
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
    // The CLI's result once it is known: what it spent survives a later failure (collect, verify).
    let spent: RunResult | null = null;
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
          ? watchBudget({
              tracker,
              prices: this.deps.prices,
              budgetUsd,
              onOver: () => overBudget.abort(),
              onPollFailed: (err) => log("warn", "budget_poll_failed", { jobId, cli: side.cli, error: errText(err) }),
            })
          : null;
      const outcome = await run({
        argv: inv.argv,
        cwd: wt.path,
        env: inv.env,
        stdin: inv.stdin,
        timeoutMs: this.timeoutFor(req),
        killGraceMs: config.KILL_GRACE_MS,
        tailBytes: CLI_OUTPUT_TAIL_BYTES,
        signal: AbortSignal.any([signal, overBudget.signal]),
      });
      const overAt = (await monitor?.stop()) ?? null;
      let result = adapter.parse(outcome, { model: side.model, cli: side.cli });
      spent = result;
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
        // The run's result does not depend on it: the login keeps the token it had, and says so.
        await writeBackLogin({ files: login, copy: loginCopy, loginHome: loginDir, home, owner: lease }).catch(
          (err: unknown) => log("warn", "login_write_back_failed", { jobId, cli: side.cli, error: errText(err) }),
        );
        releaseLogin?.();
        releaseLogin = null;
      }
      result = await this.settleCost({
        jobId,
        run: result,
        killed: wasKilled(outcome),
        tracker,
        home,
        owner: lease,
        boundUsd: costBound(budgetUsd, config.UNKNOWN_COST_USD),
      });
      spent = result;
      const verify =
        req.verify && result.ok
          ? await runVerify({
              runProcess: run,
              command: req.verify,
              cwd: wt.path,
              home,
              timeoutMs: config.VERIFY_TIMEOUT_MS,
              signal,
            })
          : undefined;
      const collected = await worktrees.collect(wt, { diffs });
      ok = result.ok && (verify?.ok ?? true);
      return { side, run: result, ...(verify ? { verify } : {}), collected, branch: wt.branch, baseCommit };
    } catch (err) {
      log("error", "side_crashed", { jobId, cli: side.cli, error: describeError(err) });
      const crash = failedRun(side, "crash", errText(err));
      const run = spent ? { ...spent, ok: false, error: crash.error } : crash;
      return { side, run, collected: EMPTY, branch: wt.branch, baseCommit };
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
   * usage, priced, is its cost. A killed run whose log gives nothing is counted at its bound
   * (usage/killed-run.ts), so the Worker never counts it as free.
   */
  private async settleCost(s: {
    jobId: string;
    run: RunResult;
    killed: boolean;
    tracker: UsageTracker | null;
    home: string;
    owner: HomeOwner | null;
    boundUsd: number;
  }): Promise<RunResult> {
    if (reportedUsage(s.run)) return s.run;
    const ctx = { jobId: s.jobId, cli: s.run.cli };
    if (s.tracker && s.owner) {
      // As an agent identity the CLI may have kept its log to itself (claude writes it 0600).
      try {
        await s.owner.fixPermissions(s.home);
      } catch (err) {
        // The read below then fails too, and says so; the run is counted at its bound.
        log("warn", "usage_log_permissions_failed", { ...ctx, error: errText(err) });
      }
    }
    const read = await readUsage(s.tracker);
    if (read.kind === "unreadable") log("warn", "usage_log_unreadable", { ...ctx, error: read.error });
    const run = settleCost(s.run, { read, killed: s.killed, prices: this.deps.prices, boundUsd: s.boundUsd });
    if (run.costSource === "bound")
      log("warn", "run_cost_bound", { ...ctx, costUsd: run.costUsd, usageLog: read.kind });
    return run;
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
