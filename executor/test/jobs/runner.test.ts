/**
 * The job runner with every dependency injected: an in-memory worktree manager, a recording
 * adapter and runProcess, a fixed clock, stub compress/compareRuns, and the real SQLite store.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CliName, JobRequest, JobView, RunResult } from "@vault-mcp/contract";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  CliAdapter,
  CompareRuns,
  Compress,
  ProcessOutcome,
  RunProcessOptions,
  Worktree,
  WorktreeManager,
} from "../../src/interfaces.ts";
import { bodyHash } from "../../src/jobs/idempotency.ts";
import { JobRunner, type RunnerConfig, type RunnerDeps } from "../../src/jobs/runner.ts";
import { JobStore } from "../../src/jobs/store.ts";
import { setLogSink } from "../../src/log.ts";
import { loadPrices } from "../../src/pricing.ts";
import { RUN_MARKER } from "../../src/process/orphans.ts";
import { runProcess as realRunProcess } from "../../src/process/run.ts";
import type { LoadedProfiles } from "../../src/profiles.ts";
import { GEMINI_USAGE_LOG } from "../../src/usage/session-logs.ts";
import { processOutcome } from "../clis/fixtures.ts";

const NOW = new Date("2026-03-01T12:00:00.000Z");
let dir: string;
let store: JobStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "vault-runner-"));
  store = new JobStore(path.join(dir, "data"));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (): RunnerConfig => ({
  DATA_DIR: path.join(dir, "data"),
  DEFAULT_TIMEOUT_MS: 2_000,
  MAX_TIMEOUT_MS: 3_000,
  KILL_GRACE_MS: 111,
  VERIFY_TIMEOUT_MS: 4_444,
  CALLBACK_SECRET: "callback-secret-0123456789",
  CLAUDE_BIN: "/opt/claude",
  CODEX_BIN: "codex",
  GEMINI_BIN: "gemini",
  LOGINS_DIR: path.join(dir, "logins"),
  UNKNOWN_COST_USD: 5,
});

const profiles: LoadedProfiles = {
  profiles: {
    sonnet: { cli: "claude", model: "sonnet", auth: "api_key", env: { ANTHROPIC_API_KEY: "${ANTHROPIC_API_KEY}" } },
    opus: { cli: "claude", model: "opus", auth: "api_key", env: { ANTHROPIC_API_KEY: "${ANTHROPIC_API_KEY}" } },
    codex: { cli: "codex", model: "gpt-5.5", auth: "subscription", env: {} },
  },
  consensus: ["sonnet", "opus"],
  direct: { claude: "sonnet", codex: "codex", gemini: "sonnet" },
  missingEnv: {},
};

const outcome = (over: Partial<ProcessOutcome> = {}): ProcessOutcome => processOutcome({ stdout: "answer", ...over });

/** Records every call in order. */
function fakes(
  opts: {
    cli?: (o: RunProcessOptions) => Promise<ProcessOutcome>;
    verify?: (o: RunProcessOptions) => Promise<ProcessOutcome>;
    acquireFails?: boolean;
    /** collect() fails after the CLI ran (e.g. git cannot commit). */
    collectFails?: boolean;
    callback?: RunnerDeps["callback"];
    env?: RunnerDeps["env"];
    /** The adapter logs usage like gemini (and does not stop itself at a budget). */
    logsUsage?: boolean;
    which?: RunnerDeps["which"];
  } = {},
) {
  const calls: string[] = [];
  const procs: RunProcessOptions[] = [];
  const released: { path: string; keep: boolean }[] = [];
  const homes: string[] = [];
  const budgets: (number | undefined)[] = [];
  const worktrees: WorktreeManager = {
    async acquire(repo, ref, jobId): Promise<Worktree> {
      calls.push(`acquire ${repo} ${ref ?? "-"} ${jobId}`);
      if (opts.acquireFails) throw Object.assign(new Error("repo 'demo' is not allowed"), { code: "repo_not_allowed" });
      const wtPath = path.join(dir, "wt", jobId);
      return { repo, path: wtPath, branch: `vault/${jobId}`, baseCommit: "0".repeat(40), gitDir: `${wtPath}.git` };
    },
    async collect(wt, o) {
      calls.push(`collect ${path.basename(wt.path)} diffs=${String(Boolean(o?.diffs))}`);
      if (opts.collectFails) throw new Error("git commit failed: disk full");
      return { files: [{ path: "a.txt", added: 1, deleted: 0 }], commit: "c".repeat(40), diffs: { "a.txt": "+a" } };
    },
    async release(wt, o) {
      calls.push(`release ${path.basename(wt.path)}`);
      released.push({ path: wt.path, keep: o.keep });
    },
  };
  const adapter: CliAdapter = {
    name: "claude",
    stopsAtBudget: !opts.logsUsage,
    usageLog: () => (opts.logsUsage ? GEMINI_USAGE_LOG : null),
    loginFiles: () => null,
    async prepare(input) {
      calls.push(`prepare ${input.model}`);
      homes.push(input.home);
      budgets.push(input.maxBudgetUsd);
      expect(existsSync(input.home)).toBe(true);
      return {
        argv: [String(input.profileEnv.CLAUDE_BIN), "-p", input.prompt],
        env: { HOME: input.home, KEY: input.profileEnv.ANTHROPIC_API_KEY ?? "" },
        stdin: input.prompt,
      };
    },
    parse(o, ctx): RunResult {
      calls.push(`parse ${ctx.model}`);
      const error = o.timedOut
        ? { kind: "timeout" as const, message: "t" }
        : o.aborted
          ? { kind: "interrupted" as const, message: "a" }
          : o.exitCode !== 0
            ? { kind: "api" as const, message: "e" }
            : undefined;
      return {
        ok: !error,
        cli: ctx.cli,
        text: o.stdout,
        exitCode: o.exitCode,
        signal: o.signal,
        durationMs: o.durationMs,
        // A killed CLI prints nothing, so it reports nothing.
        costUsd: o.stdout === "" ? 0 : 0.5,
        costSource: "reported",
        tokens:
          o.stdout === ""
            ? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }
            : { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
        model: ctx.model,
        sessionId: null,
        truncated: false,
        ...(error ? { error } : {}),
      };
    },
  };
  const adapters = { claude: adapter, codex: adapter, gemini: adapter } satisfies Record<CliName, CliAdapter>;
  const runProcess = async (o: RunProcessOptions) => {
    procs.push(o);
    // As the real one: the callback once the child exists (the runner records the process).
    o.onSpawn?.(100_000 + procs.length);
    const isVerify = o.argv[0] === "verify";
    calls.push(isVerify ? "verify" : `run ${o.argv[2] ?? ""}`);
    return (isVerify ? (opts.verify ?? (async () => outcome())) : (opts.cli ?? (async () => outcome())))(o);
  };
  const compress: Compress = (input, verbosity) => `${verbosity}:${input.profile}:${input.run.ok ? "ok" : "fail"}`;
  const compareRuns: CompareRuns = (a, b) => ({
    verdict: "agree",
    profiles: [a.profile, b.profile],
    answerSimilarity: 1,
    filesBoth: ["a.txt"],
    filesOnlyA: [],
    filesOnlyB: [],
    fileAgreement: [{ path: "a.txt", same: true }],
    verify: [null, null],
    mermaid: "flowchart LR\n  a --- b",
  });
  const runner = new JobRunner({
    config: config(),
    store,
    worktrees,
    adapters,
    profiles,
    prices: loadPrices(),
    runProcess,
    env: opts.env ?? { ANTHROPIC_API_KEY: "sk-test" },
    // The CLI "exists": this suite injects runProcess, so no executable is started.
    which: opts.which ?? (async (bin) => bin),
    compress,
    compareRuns,
    now: () => NOW,
    ...(opts.callback ? { callback: opts.callback } : {}),
  });
  return { runner, calls, procs, released, homes, budgets };
}

let seq = 0;
function submit(over: Partial<JobRequest> = {}): string {
  const req: JobRequest = { jobKey: `k-${++seq}`, profile: "sonnet", prompt: "do it", repo: "demo", ...over };
  const id = `j-${seq}`;
  store.insert(id, req, bodyHash(req), NOW.toISOString());
  return id;
}

const never = new AbortController().signal;

describe("JobRunner", () => {
  it("worktree → prepare (fresh home) → CLI → parse → collect → compress → store → done; then release and home removal", async () => {
    const f = fakes();
    const id = submit({ ref: "main" });
    const done: string[] = [];
    f.runner.events.on("done", (j: string) => done.push(j));
    await f.runner.run(id, never);
    expect(f.calls.slice(0, 5)).toEqual([
      `acquire demo main ${id}`,
      "prepare sonnet",
      "run do it",
      "parse sonnet",
      `collect ${id} diffs=false`,
    ]);
    expect(f.procs[0]).toMatchObject({
      argv: ["/opt/claude", "-p", "do it"],
      cwd: path.join(dir, "wt", id),
      timeoutMs: 2_000,
      killGraceMs: 111,
      env: { KEY: "sk-test" },
    });
    expect(f.homes).toEqual([path.join(dir, "data", "homes", id)]);
    const rec = store.get(id);
    expect(rec).toMatchObject({
      status: "succeeded",
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      callbackState: "none",
    });
    expect(rec?.result).toMatchObject({
      ok: true,
      profile: "sonnet",
      compressed: "mermaid:sonnet:ok",
      commit: "c".repeat(40),
      branch: `vault/${id}`,
      costUsd: 0.5,
    });
    expect(done).toEqual([id]);
    await f.runner.settle();
    expect(f.released).toEqual([{ path: path.join(dir, "wt", id), keep: false }]);
    expect(existsSync(f.homes[0] as string)).toBe(false);
  });

  it("the CLI timeout: the default, less when asked, never more than MAX_TIMEOUT_MS", async () => {
    const f = fakes();
    for (const timeoutMs of [undefined, 1_000, 3_600_000])
      await f.runner.run(submit(timeoutMs ? { timeoutMs } : {}), never);
    expect(f.procs.map((p) => p.timeoutMs)).toEqual([2_000, 1_000, 3_000]);
  });

  it("a direct run uses the named CLI and model, and reads profile 'direct'", async () => {
    const f = fakes();
    const id = submit({ profile: undefined, executor: "claude", model: "haiku", verbosity: "summary" });
    await f.runner.run(id, never);
    expect(f.calls).toContain("prepare haiku");
    expect(store.get(id)?.result).toMatchObject({ profile: "direct", compressed: "summary:direct:ok" });
  });

  it("a timed-out CLI fails the job (error kind timeout), skips verify, keeps the worktree", async () => {
    const f = fakes({ cli: async () => outcome({ timedOut: true, exitCode: null, signal: "SIGKILL" }) });
    const id = submit({ verify: ["verify"] });
    await f.runner.run(id, never);
    expect(store.get(id)).toMatchObject({
      status: "failed",
      result: { ok: false, run: { error: { kind: "timeout" } } },
    });
    expect(f.calls).not.toContain("verify");
    await f.runner.settle();
    expect(f.released[0]?.keep).toBe(true);
  });

  it("verify runs after a good CLI run, in the worktree, with its own timeout; failing it fails the job", async () => {
    const f = fakes({ verify: async () => outcome({ exitCode: 1, stdout: "1 test failed" }) });
    const id = submit({ verify: ["verify", "--all"] });
    await f.runner.run(id, never);
    const v = f.procs.find((p) => p.argv[0] === "verify");
    expect(v).toMatchObject({ argv: ["verify", "--all"], cwd: path.join(dir, "wt", id), timeoutMs: 4_444 });
    expect(store.get(id)).toMatchObject({
      status: "failed",
      result: { ok: false, run: { ok: true }, verify: { ok: false, exitCode: 1 } },
    });
    await f.runner.settle();
    expect(f.released[0]?.keep).toBe(true);
  });

  it("a worktree that cannot be acquired fails the job without starting a CLI", async () => {
    const f = fakes({ acquireFails: true });
    const id = submit();
    await f.runner.run(id, never);
    expect(f.procs).toEqual([]);
    expect(store.get(id)).toMatchObject({
      status: "failed",
      result: { run: { error: { kind: "crash", message: "worktree: repo 'demo' is not allowed" } } },
    });
  });

  it("an abort (shutdown past the grace) ends the job interrupted", async () => {
    const ac = new AbortController();
    const f = fakes({
      cli: (o) =>
        new Promise((resolve) => {
          o.signal?.addEventListener("abort", () =>
            resolve(outcome({ aborted: true, exitCode: null, signal: "SIGTERM" })),
          );
          ac.abort();
        }),
    });
    const id = submit();
    await f.runner.run(id, ac.signal);
    expect(store.get(id)).toMatchObject({ status: "interrupted", result: { run: { error: { kind: "interrupted" } } } });
  });

  it("an abort before any CLI started (shutdown while it waited for a slot): queued again, no callback, no result", async () => {
    const ac = new AbortController();
    ac.abort();
    const f = fakes();
    const id = submit({ callbackUrl: "http://127.0.0.1:1/cb" });
    await f.runner.run(id, ac.signal);
    expect(f.procs).toHaveLength(0);
    expect(store.get(id)).toMatchObject({ status: "queued", startedAt: null, result: null, callbackState: "none" });
  });

  it("every process of a run is recorded from its spawn, with the run's marker in its environment, until the job ends", async () => {
    let seen: ReturnType<JobStore["processes"]> = [];
    const f = fakes({
      cli: async () => {
        seen = store.processes();
        return outcome();
      },
    });
    const id = submit();
    await f.runner.run(id, never);
    expect(seen).toMatchObject([{ jobId: id, run: id, pgid: 100_001 }]);
    expect(f.procs[0]?.env[RUN_MARKER]).toBe(id);
    expect(store.processes()).toEqual([]);
  });

  it("runs a job only from `queued` (never twice)", async () => {
    const f = fakes();
    const id = submit();
    await f.runner.run(id, never);
    await f.runner.run(id, never);
    expect(f.procs).toHaveLength(1);
  });

  it("consensus: both profiles at once in two worktrees, diffs collected, compared, costs added", async () => {
    let inFlight = 0;
    let peak = 0;
    const f = fakes({
      cli: async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight -= 1;
        return outcome();
      },
    });
    const id = submit({ profile: "consensus" });
    await f.runner.run(id, never);
    expect(peak).toBe(2);
    expect(f.calls.filter((c) => c.startsWith("acquire")).sort()).toEqual([
      `acquire demo - ${id}-a`,
      `acquire demo - ${id}-b`,
    ]);
    expect(f.calls.filter((c) => c.startsWith("collect")).every((c) => c.endsWith("diffs=true"))).toBe(true);
    const result = store.get(id)?.result;
    expect(result).toMatchObject({
      ok: true,
      profile: "consensus",
      run: { model: "sonnet" },
      runB: { model: "opus" },
      consensus: { verdict: "agree", profiles: ["sonnet", "opus"] },
      compressed: "flowchart LR\n  a --- b",
      costUsd: 1,
    });
  });

  it("owes and sends the callback after the job, signed, without holding the job open", async () => {
    const sent: { url: string; body: string; sig: string | null }[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const fetchStub: typeof fetch = async (url, init) => {
      await held;
      sent.push({
        url: String(url),
        body: String(init?.body),
        sig: new Headers(init?.headers).get("x-vault-signature"),
      });
      return new Response(null, { status: 204 });
    };
    const { runner } = fakes({ callback: { fetch: fetchStub, baseDelayMs: 1 } });
    const id = submit({ callbackUrl: "http://127.0.0.1:9/cb" });
    await runner.run(id, never);
    // run() returned while the callback is still in flight: the queue slot is already free.
    expect(store.get(id)?.callbackState).toBe("pending");
    release();
    await runner.callbacks.flush(Date.now() + 5_000);
    expect(store.get(id)).toMatchObject({ callbackState: "sent", callbackAttempts: 1 });
    expect(sent).toHaveLength(1);
    expect((JSON.parse(sent[0]?.body ?? "{}") as JobView).status).toBe("succeeded");
    expect(sent[0]?.sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it("a profile that is not ready fails at once as `setup` with what is missing: no worktree, no CLI", async () => {
    const f = fakes();
    const codex = submit({ profile: undefined, executor: "codex" });
    await f.runner.run(codex, never);
    expect(store.get(codex)).toMatchObject({
      status: "failed",
      result: { ok: false, run: { cli: "codex", error: { kind: "setup" } } },
    });
    expect(store.get(codex)?.result?.run.error?.message).toMatch(/CODEX_HOME=.*codex login --device-auth/);
    const noKey = fakes({ env: {} });
    const sonnet = submit();
    await noKey.runner.run(sonnet, never);
    expect(store.get(sonnet)?.result?.run.error).toEqual({ kind: "setup", message: "set ANTHROPIC_API_KEY" });
    expect([...f.calls, ...noKey.calls]).toEqual([]);
  });

  it("a CLI that is not installed fails at once as `setup`, naming the fix", async () => {
    const f = fakes({ which: async () => null });
    const id = submit();
    await f.runner.run(id, never);
    expect(store.get(id)?.result?.run.error).toMatchObject({
      kind: "setup",
      message: expect.stringMatching(/CLAUDE_BIN/),
    });
    expect(f.procs).toEqual([]);
  });

  it("maxBudgetUsd reaches the CLI; a consensus job gives each side half", async () => {
    const f = fakes();
    await f.runner.run(submit({ maxBudgetUsd: 0.8 }), never);
    await f.runner.run(submit({ profile: "consensus", maxBudgetUsd: 0.8 }), never);
    await f.runner.run(submit(), never);
    expect(f.budgets).toEqual([0.8, 0.4, 0.4, undefined]);
  });

  /** Appends one gemini-style session-log record, as the real CLI does after a model response. */
  const logUsage = (home: string, id: string, input: number) => {
    const chats = path.join(home, ".gemini", "tmp", "repo", "chats");
    mkdirSync(chats, { recursive: true });
    const line = {
      id,
      type: "gemini",
      model: "gemini-2.5-flash",
      tokens: { input, output: 0, cached: 0, thoughts: 0 },
    };
    writeFileSync(path.join(chats, "session-1.jsonl"), `${JSON.stringify(line)}\n`, { flag: "a" });
  };

  it("a CLI that logs usage past its budget is stopped: kind budget, and its logged cost is kept", async () => {
    const f = fakes({
      logsUsage: true,
      cli: (o) =>
        new Promise((resolve) => {
          // 1M input tokens of gemini-2.5-flash: $0.30, over the $0.10 budget. The run never ends by itself.
          logUsage(String(o.env.HOME), "r1", 1_000_000);
          o.signal?.addEventListener("abort", () =>
            resolve(outcome({ aborted: true, exitCode: null, signal: "SIGTERM", stdout: "" })),
          );
        }),
    });
    const id = submit({ maxBudgetUsd: 0.1 });
    await f.runner.run(id, never);
    const rec = store.get(id);
    expect(rec?.status).toBe("failed");
    expect(rec?.result?.run.error?.kind).toBe("budget");
    expect(rec?.result?.run.error?.message).toMatch(/reached \$0\.3000, over this run's budget of \$0\.1/);
    expect(rec?.result).toMatchObject({ costUsd: 0.3, run: { costSource: "computed", tokens: { input: 1_000_000 } } });
  });

  it("a run killed before it reported usage keeps what it logged (timeout and shutdown alike)", async () => {
    const ac = new AbortController();
    const f = fakes({
      logsUsage: true,
      cli: async (o) => {
        logUsage(String(o.env.HOME), "r1", 100_000);
        logUsage(String(o.env.HOME), "r1", 200_000); // the same response, rewritten: the last wins
        logUsage(String(o.env.HOME), "r2", 100_000);
        if (!o.argv.includes("shutdown"))
          return outcome({ timedOut: true, exitCode: null, signal: "SIGTERM", stdout: "" });
        ac.abort();
        return outcome({ aborted: true, exitCode: null, signal: "SIGTERM", stdout: "" });
      },
    });
    // 300,000 input tokens of gemini-2.5-flash at $0.30 per million.
    const logged = { costUsd: 0.09, costSource: "computed", tokens: { input: 300_000, output: 0 } };
    const timedOut = submit();
    await f.runner.run(timedOut, never);
    expect(store.get(timedOut)?.result).toMatchObject({
      costUsd: 0.09,
      run: { ...logged, error: { kind: "timeout" } },
    });
    const interrupted = submit({ prompt: "shutdown" });
    await f.runner.run(interrupted, ac.signal);
    expect(store.get(interrupted)).toMatchObject({
      status: "interrupted",
      result: { costUsd: 0.09, run: { ...logged, error: { kind: "interrupted" } } },
    });
  });

  it("a failure after the CLI ran (collect) fails the job as crash but keeps what the CLI spent", async () => {
    const f = fakes({ collectFails: true });
    const id = submit();
    await f.runner.run(id, never);
    expect(store.get(id)).toMatchObject({
      status: "failed",
      result: {
        costUsd: 0.5,
        run: { ok: false, costUsd: 0.5, costSource: "reported", error: { kind: "crash", message: /disk full/ } },
      },
    });
  });

  it("a store that cannot record the end: run() rejects with its error, and waiters still hear the job is done", async () => {
    const f = fakes({
      cli: async () => {
        store.close(); // the store fails under the runner, after the job started
        return outcome();
      },
    });
    const id = submit();
    const done: string[] = [];
    f.runner.events.on("done", (j: string) => done.push(j));
    await expect(f.runner.run(id, never)).rejects.toThrow(/not open/);
    expect(done).toEqual([id]);
    await f.runner.settle();
    store = new JobStore(path.join(dir, "data"));
    expect(store.get(id)?.status).toBe("running");
  });

  describe("a killed run whose usage log cannot be read is counted at its bound, never at $0", () => {
    /**
     * A real CLI stand-in: a node process that prints nothing and never ends, killed by the real
     * runProcess at its timeout. `before` runs inside it first (as the CLI would, in its home).
     */
    const hangingCli =
      (before = "") =>
      (o: RunProcessOptions) =>
        realRunProcess({
          ...o,
          argv: [process.execPath, "-e", `${before}; setInterval(() => {}, 1 << 30)`],
          // This suite's worktrees are not on disk; the run's home is.
          cwd: String(o.env.HOME),
          timeoutMs: 300,
        });
    const lines: string[] = [];
    beforeEach(() => setLogSink((l) => void lines.push(l)));
    afterEach(() => {
      setLogSink((l) => process.stdout.write(l));
      lines.length = 0;
    });
    const events = () => lines.map((l) => (JSON.parse(l) as { event: string }).event);

    it("a CLI that keeps no log we can read, killed by its timeout: its budget cap, marked bound", async () => {
      const f = fakes({ cli: hangingCli() });
      const id = submit({ maxBudgetUsd: 0.8 });
      await f.runner.run(id, never);
      const result = store.get(id)?.result;
      expect(result?.run).toMatchObject({ ok: false, error: { kind: "timeout" }, costUsd: 0.8, costSource: "bound" });
      expect(result?.run.signal).toBe("SIGTERM");
      expect(result?.costUsd).toBe(0.8);
      expect(events()).toContain("run_cost_bound");
    });

    it("a consensus: each side at its half of the budget; without a budget, UNKNOWN_COST_USD", async () => {
      const f = fakes({ cli: hangingCli() });
      const both = submit({ profile: "consensus", maxBudgetUsd: 0.8 });
      await f.runner.run(both, never);
      const r = store.get(both)?.result;
      expect([r?.run.costUsd, r?.runB?.costUsd, r?.costUsd]).toEqual([0.4, 0.4, 0.8]);
      expect([r?.run.costSource, r?.runB?.costSource]).toEqual(["bound", "bound"]);
      const unbudgeted = submit();
      await f.runner.run(unbudgeted, never);
      expect(store.get(unbudgeted)?.result).toMatchObject({ costUsd: 5, run: { costSource: "bound" } });
    });

    it("a session log the disk will not read (a directory where the file is): bound, and the failure is logged", async () => {
      const log =
        "require('node:fs').mkdirSync(require('node:path').join(process.env.HOME, '.gemini/tmp/r/chats/session-1.jsonl'), { recursive: true })";
      const f = fakes({ logsUsage: true, cli: hangingCli(log) });
      const id = submit({ maxBudgetUsd: 0.8 });
      await f.runner.run(id, never);
      expect(store.get(id)?.result).toMatchObject({ costUsd: 0.8, run: { costSource: "bound" } });
      const unreadable = lines.find((l) => l.includes('"usage_log_unreadable"'));
      expect(unreadable).toMatch(/EISDIR/);
      expect(unreadable).toContain(id);
    });

    it("a run that ended by itself reporting nothing is not a killed one: it stays at what it reported", async () => {
      const f = fakes({
        cli: (o) =>
          realRunProcess({
            ...o,
            argv: [process.execPath, "-e", "process.exit(3)"],
            cwd: String(o.env.HOME),
            timeoutMs: 5_000,
          }),
      });
      const id = submit({ maxBudgetUsd: 0.8 });
      await f.runner.run(id, never);
      expect(store.get(id)?.result?.run).toMatchObject({ exitCode: 3, costUsd: 0, costSource: "reported" });
    });
  });
});
