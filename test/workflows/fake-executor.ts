/**
 * A format-faithful fake of the executor's job API for workerd tests: it answers POST /jobs and
 * GET /jobs/:id with real JobView/JobResult shapes (validated by the contract), keeps one job per
 * jobKey like the real one, counts spawns and POSTs per jobKey (a second spawn would be a duplicate
 * CLI run), and sends the signed callback through the Worker's own fetch handler, like the real one.
 * A finished job's deliver, discard and diff (fake-delivery.ts) keep a remote's branches and pull
 * requests in memory, with the real executor's rules. Only the model behind the CLI is fake here;
 * everything on the Worker side runs for real.
 */

import { exports } from "cloudflare:workers";
import {
  ExecutorHealth,
  JobRequest,
  type JobResult,
  JobView,
  type RunResult,
  SIGNATURE_HEADER,
  signBody,
} from "@vault-mcp/contract";
import { FakeRemote, jobAction } from "./fake-delivery.ts";

export interface Scenario {
  ok?: boolean;
  costUsd?: number;
  errorKind?: NonNullable<RunResult["error"]>["kind"];
  verifyFails?: boolean;
  /** HTTP status for POST /jobs (401, 429, 503, …), `httpTimes` times per jobKey (default always). */
  httpStatus?: number;
  httpTimes?: number;
  /** Retry-After header sent with `httpStatus`. */
  retryAfter?: string;
  /** POST /jobs fails at the network level `networkTimes` times per jobKey (default always). */
  networkError?: boolean;
  networkTimes?: number;
  /** The job is created but the 202 is lost (a network error) this many times: the retry must not spawn again. */
  loseAnswerTimes?: number;
  /** Do not send the callback (the workflow must poll). */
  loseCallback?: boolean;
  /** Send the callback with another job's id (the workflow must not trust it). */
  callbackJobId?: string;
  /** GET /jobs/:id says `running` this many times before the result. */
  pollsBeforeDone?: number;
  consensus?: boolean;
  /** Size of the CLI's output text in GET /jobs/:id (the callback carries it too). */
  textBytes?: number;
  /** The executor restarted under the run: the job reads `interrupted` (with the cost the run reported). */
  interrupted?: boolean;
  /** With `interrupted`: the restart came while the job was still queued (no start time, no result). */
  neverStarted?: boolean;
  /** The job's fetch failed: it ran on a commit fetched 3 h before (its base is not fresh). */
  staleBase?: boolean;
  /** The agent changed nothing: no files, no commit. */
  noChange?: boolean;
}

/** What the fake's /health says about readiness: profiles that cannot run, with what is missing. */
export interface FakeHealth {
  missing?: Partial<Record<string, string>>;
  /** Answer /health with this HTTP status instead (e.g. 503). */
  status?: number;
}

const PROFILES = ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "codex"] as const;
const CLI_OF: Record<string, "claude" | "codex" | "gemini"> = {
  deepseek: "claude",
  "gemini-flash": "gemini",
  "gemini-pro": "gemini",
  sonnet: "claude",
  opus: "claude",
  codex: "codex",
};

export class FakeExecutor {
  readonly jobs = new Map<string, { view: JobView; request: JobRequest; polls: number }>();
  /** CLI runs per jobKey: any value above 1 is a duplicate spawn. */
  readonly spawns = new Map<string, number>();
  /** POST /jobs per jobKey (retries included). */
  readonly posts = new Map<string, number>();
  readonly calls: string[] = [];
  /** x-auth-token of every request: the executor's secret, never the caller's bearer. */
  readonly tokens = new Set<string | null>();
  /** The repos' remote: branches pushed and pull requests, as deliver and discard leave them. */
  readonly remote = new FakeRemote();
  private failures = new Map<string, number>();

  constructor(
    private readonly scenario: (profile: string, attempt: number) => Scenario,
    private readonly callbackSecret = "test-callback-secret",
    readonly health: FakeHealth = {},
  ) {}

  /** The executor's /health as the contract says: readiness per profile, consensus, direct profiles. */
  healthView(): ExecutorHealth {
    const missing = this.health.missing ?? {};
    const profiles = Object.fromEntries(
      PROFILES.map((name) => {
        const why = missing[name];
        return [
          name,
          {
            cli: CLI_OF[name] ?? "claude",
            model: `${name}-model`,
            auth: "api_key" as const,
            ready: why === undefined,
            ...(why ? { missing: why } : {}),
          },
        ];
      }),
    );
    const consensusMissing = missing.consensus ?? missing.sonnet ?? missing.codex;
    return ExecutorHealth.parse({
      status: Object.values(profiles).some((p) => p.ready) ? "ok" : "degraded",
      version: "fake",
      uptimeSeconds: 1,
      running: 0,
      queued: 0,
      capacity: 2,
      maxQueue: 8,
      clis: null,
      profiles,
      consensus: {
        profiles: ["sonnet", "codex"],
        ready: consensusMissing === undefined,
        ...(consensusMissing ? { missing: consensusMissing } : {}),
      },
      direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" },
      disk: null,
    });
  }

  postCount(): number {
    return this.calls.filter((c) => c === "POST /jobs").length;
  }

  private failOnce(key: string, limit: number | undefined): boolean {
    const seen = this.failures.get(key) ?? 0;
    if (seen >= (limit ?? Number.POSITIVE_INFINITY)) return false;
    this.failures.set(key, seen + 1);
    return true;
  }

  fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const method = init?.method ?? "GET";
    this.calls.push(`${method} ${url.pathname}`);
    this.tokens.add(new Headers(init?.headers).get("x-auth-token"));
    if (method === "POST" && url.pathname === "/jobs") {
      const req = JobRequest.parse(JSON.parse(String(init?.body)));
      this.posts.set(req.jobKey, (this.posts.get(req.jobKey) ?? 0) + 1);
      const sc = this.scenario(req.profile ?? "direct", Number(req.jobKey.split(":").pop()));
      if (sc.networkError && this.failOnce(`net:${req.jobKey}`, sc.networkTimes))
        throw new TypeError("fetch failed: connect ECONNREFUSED");
      if (sc.httpStatus && this.failOnce(`http:${req.jobKey}`, sc.httpTimes)) {
        return Response.json(
          { error: { code: "fake", message: `fake ${sc.httpStatus}` } },
          { status: sc.httpStatus, headers: sc.retryAfter ? { "retry-after": sc.retryAfter } : {} },
        );
      }
      const existing = this.jobs.get(req.jobKey);
      if (existing) return Response.json(existing.view, { status: 202 });
      this.spawns.set(req.jobKey, (this.spawns.get(req.jobKey) ?? 0) + 1);
      const now = new Date().toISOString();
      const result = this.result(req, sc);
      const queuedAtRestart = sc.interrupted === true && sc.neverStarted === true;
      const view = JobView.parse({
        jobId: `job-${crypto.randomUUID().slice(0, 8)}`,
        jobKey: req.jobKey,
        status: sc.interrupted ? "interrupted" : result.ok ? "succeeded" : "failed",
        createdAt: now,
        startedAt: queuedAtRestart ? null : now,
        finishedAt: now,
        result: queuedAtRestart ? null : result,
      });
      this.jobs.set(req.jobKey, { view, request: req, polls: 0 });
      if (!sc.loseCallback && req.callbackUrl) {
        const body = JSON.stringify(sc.callbackJobId ? { ...view, jobId: sc.callbackJobId } : view);
        const signature = await signBody(this.callbackSecret, body);
        // After the 202, like the real executor: the callback races the instance's wait.
        setTimeout(() => {
          void exports.default.fetch(
            new Request(req.callbackUrl as string, {
              method: "POST",
              body,
              headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signature },
            }),
          );
        }, 5);
      }
      if (sc.loseAnswerTimes && this.failOnce(`lost:${req.jobKey}`, sc.loseAnswerTimes))
        throw new TypeError("network connection lost");
      return Response.json({ ...view, status: "queued", finishedAt: null, result: null }, { status: 202 });
    }
    if (method === "GET" && url.pathname === "/health") {
      if (this.health.status)
        return Response.json({ error: { code: "fake", message: "fake" } }, { status: this.health.status });
      return Response.json(this.healthView());
    }
    const action = /^\/jobs\/([^/]+)\/(deliver|discard|diff)$/.exec(url.pathname);
    if (action) {
      const job = [...this.jobs.values()].find((j) => j.view.jobId === decodeURIComponent(action[1] as string));
      return jobAction(this.remote, { job, action: action[2] as "deliver" | "discard" | "diff", method, url, init });
    }
    const m = /^\/jobs\/([^/]+)$/.exec(url.pathname);
    if (method === "GET" && m) {
      const job = [...this.jobs.values()].find((j) => j.view.jobId === decodeURIComponent(m[1] as string));
      if (!job) return Response.json({ error: { code: "not_found", message: "no job" } }, { status: 404 });
      const sc = this.scenario(job.request.profile ?? "direct", Number(job.view.jobKey.split(":").pop()));
      job.polls += 1;
      if (job.polls <= (sc.pollsBeforeDone ?? 0))
        return Response.json({ ...job.view, status: "running", finishedAt: null, result: null });
      return Response.json(job.view);
    }
    return Response.json({ error: { code: "not_found", message: "no route" } }, { status: 404 });
  };

  private result(req: JobRequest, scenario: Scenario): JobResult {
    let sc = scenario;
    const errorKind = sc.interrupted ? "interrupted" : sc.errorKind;
    sc = { ...sc, ...(errorKind ? { errorKind } : {}) };
    const ok = (sc.ok ?? true) && !sc.verifyFails && !sc.errorKind;
    const cli = CLI_OF[req.profile ?? "sonnet"] ?? "claude";
    const run: RunResult = {
      ok: !sc.errorKind && (sc.ok ?? true),
      cli,
      text: sc.textBytes ? "x".repeat(sc.textBytes) : "Done: created hello.txt",
      exitCode: sc.errorKind ? 1 : 0,
      signal: null,
      durationMs: 1200,
      costUsd: sc.costUsd ?? 0.01,
      costSource: "computed",
      tokens: { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50 },
      model: `${req.profile}-model`,
      sessionId: "s-1",
      truncated: false,
      ...(sc.errorKind ? { error: { kind: sc.errorKind, message: `fake ${sc.errorKind}` } } : {}),
    };
    return {
      ok,
      profile: req.profile ?? "direct",
      run,
      ...(sc.consensus ? { runB: { ...run, cli: "codex", model: "codex-model", text: "Done too" } } : {}),
      files: sc.noChange ? [] : [{ path: "hello.txt", added: 1, deleted: 0 }],
      branch: sc.noChange ? null : `vault/${req.jobKey}`,
      commit: sc.noChange ? null : "0123456789abcdef0123456789abcdef01234567",
      base: {
        ref: req.source?.defaultBranch ?? "HEAD",
        commit: "ba5e000000000000000000000000000000000000",
        fetchedAt: req.source ? new Date(Date.now() - (sc.staleBase ? 3 * 3_600_000 : 0)).toISOString() : null,
        fresh: req.source !== undefined && !sc.staleBase,
        ...(sc.staleBase ? { fetchError: "fetch of main failed (network): could not resolve host" } : {}),
      },
      ...(sc.verifyFails
        ? { verify: { command: ["npm", "test"], ok: false, exitCode: 1, durationMs: 10, output: "1 failing" } }
        : {}),
      ...(sc.consensus
        ? {
            consensus: {
              verdict: "agree",
              profiles: ["sonnet", "codex"],
              answerSimilarity: 0.9,
              filesBoth: ["hello.txt"],
              filesOnlyA: [],
              filesOnlyB: [],
              fileAgreement: [{ path: "hello.txt", same: true }],
              verify: [null, null],
              mermaid: "flowchart LR\n  A --> B",
            },
          }
        : {}),
      compressed: `flowchart LR\n  R["${ok ? "ok" : "failed"} ${req.profile}"]`,
      costUsd: sc.costUsd ?? 0.01,
    };
  }
}
