/**
 * Runs one job: worktree → CLI → parse → verify → collect → compress → store → callback. For
 * `consensus` it runs both profiles at once in two worktrees and compares them. Every dependency
 * is injected, so this is tested with real processes and git but without the HTTP layer.
 */
import { EventEmitter } from "node:events";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { JobRequest, JobResult, JobStatus, RunResult, Verbosity, VerifyResult } from "@vault-mcp/contract";
import type { AdapterRegistry } from "../clis/index.ts";
import { compress } from "../compress/index.ts";
import { compareRuns } from "../consensus.ts";
import type { ExecutorConfig } from "../config.ts";
import type { ProcessOutcome, RunProcessOptions, WorktreeManager, WorktreeOutcome } from "../interfaces.ts";
import { debugEnabled, log } from "../log.ts";
import { resolveSides, type ProfilesFile, type ResolvedSide } from "../profiles.ts";
import { runVerify } from "../verify.ts";
import { sendCallback } from "../callback.ts";
import { toView, type JobStore } from "./store.ts";

export interface RunnerDeps {
  config: ExecutorConfig;
  store: JobStore;
  worktrees: WorktreeManager;
  adapters: AdapterRegistry;
  profiles: ProfilesFile;
  runProcess: (o: RunProcessOptions) => Promise<ProcessOutcome>;
  /** Where profile `${VAR}` references are read from. */
  env: Readonly<Record<string, string | undefined>>;
  callbackFetch?: typeof fetch;
}

interface SideOutcome {
  side: ResolvedSide;
  run: RunResult;
  verify?: VerifyResult;
  collected: WorktreeOutcome;
  branch: string | null;
}

const EMPTY: WorktreeOutcome = { files: [], commit: null, diffs: {} };

function failedRun(side: ResolvedSide, kind: "crash" | "interrupted", message: string): RunResult {
  return {
    ok: false,
    cli: side.cli,
    text: "",
    exitCode: null,
    signal: null,
    durationMs: 0,
    costUsd: 0,
    costSource: "computed",
    tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    model: side.model,
    sessionId: null,
    truncated: false,
    error: { kind, message },
  };
}

export class JobRunner {
  /** Emits `done` with the job id when a job reaches a terminal status. */
  readonly events = new EventEmitter();

  private readonly deps: RunnerDeps;

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.events.setMaxListeners(0);
  }

  private readonly cleanups = new Set<Promise<void>>();

  private track(p: Promise<void>): void {
    this.cleanups.add(p);
    void p.finally(() => this.cleanups.delete(p));
  }

  /** Waits for worktree releases still running (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all([...this.cleanups]);
  }

  timeoutFor(req: JobRequest): number {
    return Math.min(req.timeoutMs ?? this.deps.config.DEFAULT_TIMEOUT_MS, this.deps.config.MAX_TIMEOUT_MS);
  }

  sidesFor(req: JobRequest): ResolvedSide[] {
    return resolveSides(this.deps.profiles, req, this.deps.env);
  }

  async run(jobId: string, signal: AbortSignal): Promise<void> {
    const { store } = this.deps;
    const rec = store.get(jobId);
    if (!rec) return;
    const req = rec.request;
    store.markRunning(jobId, new Date().toISOString());
    log("info", "job_started", { jobId, jobKey: req.jobKey, profile: req.profile ?? req.executor, repo: req.repo, ...(debugEnabled() ? { prompt: req.prompt } : {}) });
    let status: JobStatus;
    let result: JobResult | null;
    try {
      const sides = this.sidesFor(req);
      const consensus = sides.length > 1;
      const outcomes = await Promise.all(sides.map((side, i) => this.runSide(jobId, req, side, consensus ? `-${"ab"[i]}` : "", signal, consensus)));
      result = this.buildResult(req, outcomes);
      const interrupted = outcomes.some((o) => o.run.error?.kind === "interrupted");
      status = interrupted ? "interrupted" : result.ok ? "succeeded" : "failed";
    } catch (err) {
      log("error", "job_crashed", { jobId, error: err instanceof Error ? err.message : String(err) });
      status = "failed";
      result = null;
    }
    store.finish(jobId, status, result, new Date().toISOString(), Boolean(req.callbackUrl));
    log("info", "job_finished", { jobId, status, costUsd: result?.costUsd ?? 0, errorKind: result?.run.error?.kind ?? null });
    this.events.emit("done", jobId);
    if (req.callbackUrl) await this.deliver(jobId);
  }

  /** Sends the job's callback (also used at startup for callbacks owed from before a restart). */
  async deliver(jobId: string): Promise<void> {
    const rec = this.deps.store.get(jobId);
    if (!rec?.request.callbackUrl) return;
    const sent = await sendCallback(rec.request.callbackUrl, this.deps.config.CALLBACK_SECRET, toView(rec), this.deps.callbackFetch ? { fetch: this.deps.callbackFetch } : {});
    this.deps.store.callbackDone(jobId, sent.ok ? "sent" : "failed", sent.attempts);
    log(sent.ok ? "info" : "warn", sent.ok ? "callback_sent" : "callback_failed", { jobId, attempts: sent.attempts });
  }

  private async runSide(jobId: string, req: JobRequest, side: ResolvedSide, suffix: string, signal: AbortSignal, diffs: boolean): Promise<SideOutcome> {
    const { config, worktrees, adapters } = this.deps;
    const home = path.join(config.DATA_DIR, "homes", `${jobId}${suffix}`);
    let wt;
    try {
      wt = await worktrees.acquire(req.repo, req.ref, `${jobId}${suffix}`);
    } catch (err) {
      return { side, run: failedRun(side, "crash", `worktree: ${err instanceof Error ? err.message : String(err)}`), collected: EMPTY, branch: null };
    }
    let ok = false;
    try {
      await mkdir(home, { recursive: true, mode: 0o700 });
      const adapter = adapters[side.cli];
      const bins = { CLAUDE_BIN: config.CLAUDE_BIN, CODEX_BIN: config.CODEX_BIN, GEMINI_BIN: config.GEMINI_BIN };
      const inv = await adapter.prepare({ prompt: req.prompt, model: side.model, cwd: wt.path, home, profileEnv: { ...bins, ...side.env } });
      if (signal.aborted) return { side, run: failedRun(side, "interrupted", "executor shutting down"), collected: EMPTY, branch: wt.branch };
      const outcome = await this.deps.runProcess({ argv: inv.argv, cwd: wt.path, env: inv.env, timeoutMs: this.timeoutFor(req), killGraceMs: config.KILL_GRACE_MS, signal });
      const run = adapter.parse(outcome, { model: side.model, cli: side.cli });
      const verify = req.verify && run.ok ? await runVerify(this.deps.runProcess, req.verify, wt.path, home, config.VERIFY_TIMEOUT_MS, signal) : undefined;
      const collected = await worktrees.collect(wt, { diffs });
      ok = run.ok && (verify?.ok ?? true);
      return { side, run, ...(verify ? { verify } : {}), collected, branch: wt.branch };
    } catch (err) {
      return { side, run: failedRun(side, "crash", err instanceof Error ? err.message : String(err)), collected: EMPTY, branch: wt.branch };
    } finally {
      // Off the job's critical path: the result does not wait for the tree to be cleaned.
      this.track(
        (async () => {
          await worktrees.release(wt, { keep: !ok }).catch((err: unknown) => log("warn", "worktree_release_failed", { jobId, error: String(err) }));
          await rm(home, { recursive: true, force: true }).catch(() => undefined);
        })(),
      );
    }
  }

  private buildResult(req: JobRequest, outcomes: SideOutcome[]): JobResult {
    const verbosity: Verbosity = req.verbosity ?? "mermaid";
    const [a, b] = outcomes as [SideOutcome, SideOutcome | undefined];
    const profile = req.profile ?? "direct";
    const okOf = (o: SideOutcome) => o.run.ok && (o.verify?.ok ?? true);
    const single = compress({ profile: a.side.profile, run: a.run, files: a.collected.files, ...(a.verify ? { verify: a.verify } : {}), branch: a.branch, commit: a.collected.commit }, verbosity);
    if (!b) {
      return {
        ok: okOf(a),
        profile,
        run: a.run,
        files: a.collected.files,
        branch: a.branch,
        commit: a.collected.commit,
        ...(a.verify ? { verify: a.verify } : {}),
        compressed: single,
        costUsd: a.run.costUsd,
      };
    }
    const side = (o: SideOutcome) => ({ profile: o.side.profile, run: o.run, files: o.collected.files, diffs: o.collected.diffs, ...(o.verify ? { verify: o.verify } : {}) });
    const consensus = compareRuns(side(a), side(b));
    const compressed = verbosity === "summary" ? `${consensus.verdict} · ${single}` : verbosity === "mermaid" ? consensus.mermaid : `${consensus.mermaid}\n\n${single}`;
    return {
      ok: okOf(a) && okOf(b) && consensus.verdict !== "disagree",
      profile,
      run: a.run,
      runB: b.run,
      files: a.collected.files,
      branch: a.branch,
      commit: a.collected.commit,
      ...(a.verify ? { verify: a.verify } : {}),
      consensus,
      compressed,
      costUsd: a.run.costUsd + b.run.costUsd,
    };
  }
}
