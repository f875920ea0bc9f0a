/**
 * A format-faithful fake of the executor's job API for workerd tests: it answers POST /jobs and
 * GET /jobs/:id with real JobView/JobResult shapes (validated by the contract), keeps one job per
 * jobKey like the real one, and sends the signed callback through the Worker's own fetch handler.
 * Only the model behind the CLI is fake here; everything on the Worker side runs for real.
 */
import { JobRequest, JobView, signBody, type JobResult, type RunResult } from "@vault-mcp/contract";
import { exports } from "cloudflare:workers";

export interface Scenario {
  ok?: boolean;
  costUsd?: number;
  errorKind?: NonNullable<RunResult["error"]>["kind"];
  verifyFails?: boolean;
  /** HTTP status for POST /jobs (e.g. 401, 503); `times` limits how often. */
  httpStatus?: number;
  httpTimes?: number;
  /** Do not send the callback (the workflow must poll). */
  loseCallback?: boolean;
  /** GET /jobs/:id says `running` this many times before the result. */
  pollsBeforeDone?: number;
  consensus?: boolean;
}

export class FakeExecutor {
  readonly jobs = new Map<string, { view: JobView; request: JobRequest; polls: number }>();
  /** Spawns per jobKey: a second one would be a duplicate CLI run. */
  readonly spawns = new Map<string, number>();
  readonly calls: string[] = [];
  private httpFailures = new Map<string, number>();

  constructor(
    private readonly scenario: (profile: string, attempt: number) => Scenario,
    private readonly callbackSecret = "test-callback-secret",
  ) {}

  fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const method = init?.method ?? "GET";
    this.calls.push(`${method} ${url.pathname}`);
    if (method === "POST" && url.pathname === "/jobs") {
      const req = JobRequest.parse(JSON.parse(String(init?.body)));
      const attempt = Number(req.jobKey.split(":").pop());
      const sc = this.scenario(req.profile ?? "direct", attempt);
      if (sc.httpStatus) {
        const key = `${req.jobKey}`;
        const seen = this.httpFailures.get(key) ?? 0;
        if (seen < (sc.httpTimes ?? Number.POSITIVE_INFINITY)) {
          this.httpFailures.set(key, seen + 1);
          return Response.json({ error: { code: "fake", message: `fake ${sc.httpStatus}` } }, { status: sc.httpStatus });
        }
      }
      const existing = this.jobs.get(req.jobKey);
      if (existing) return Response.json(existing.view, { status: 202 });
      this.spawns.set(req.jobKey, (this.spawns.get(req.jobKey) ?? 0) + 1);
      const view = JobView.parse({
        jobId: `job-${this.jobs.size + 1}`,
        jobKey: req.jobKey,
        status: "succeeded",
        createdAt: new Date().toISOString(),
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        result: this.result(req, sc),
      });
      if (!view.result?.ok) view.status = "failed";
      this.jobs.set(req.jobKey, { view, request: req, polls: 0 });
      if (!sc.loseCallback && req.callbackUrl) {
        const body = JSON.stringify(view);
        const signature = await signBody(this.callbackSecret, body);
        // After the 202, like the real executor: the callback races the instance's wait.
        setTimeout(() => {
          void exports.default.fetch(new Request(req.callbackUrl as string, { method: "POST", body, headers: { "content-type": "application/json", "x-vault-signature": signature } }));
        }, 5);
      }
      return Response.json({ ...view, status: "queued", finishedAt: null, result: null }, { status: 202 });
    }
    const m = /^\/jobs\/([^/]+)$/.exec(url.pathname);
    if (method === "GET" && m) {
      const job = [...this.jobs.values()].find((j) => j.view.jobId === m[1]);
      if (!job) return Response.json({ error: { code: "not_found", message: "no job" } }, { status: 404 });
      const attempt = Number(job.view.jobKey.split(":").pop());
      const sc = this.scenario(job.request.profile ?? "direct", attempt);
      job.polls += 1;
      if (job.polls <= (sc.pollsBeforeDone ?? 0)) return Response.json({ ...job.view, status: "running", finishedAt: null, result: null });
      return Response.json(job.view);
    }
    return Response.json({ error: { code: "not_found", message: "no route" } }, { status: 404 });
  };

  private result(req: JobRequest, sc: Scenario): JobResult {
    const ok = (sc.ok ?? true) && !sc.verifyFails && !sc.errorKind;
    const cli = req.profile === "deepseek" || req.profile === "sonnet" || req.profile === "opus" ? "claude" : req.profile === "consensus" ? "claude" : "gemini";
    const run: RunResult = {
      ok: !sc.errorKind && (sc.ok ?? true),
      cli,
      text: "Done: created hello.txt",
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
      files: [{ path: "hello.txt", added: 1, deleted: 0 }],
      branch: `vault/${req.jobKey}`,
      commit: "0123456789abcdef0123456789abcdef01234567",
      ...(sc.verifyFails ? { verify: { command: ["npm", "test"], ok: false, exitCode: 1, durationMs: 10, output: "1 failing" } } : {}),
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
