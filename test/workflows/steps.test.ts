/** The step bodies on their own, over the real D1 (migrations applied) and a fake executor fetch. */

import { env } from "cloudflare:workers";
import { type JobView, MIN_BUDGET_USD } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { executorClient } from "../../workflows/executor-client.ts";
import { composePrompt, promptVersion } from "../../workflows/prompt.ts";
import {
  buildJobRequest,
  type Dispatched,
  type DispatchLapsed,
  dispatchJob,
  jobKeyFor,
} from "../../workflows/steps/dispatch.ts";
import { errorFacts, factsFromJob } from "../../workflows/steps/facts.ts";
import { setTaskStatus } from "../../workflows/steps/finish.ts";
import { initTask } from "../../workflows/steps/init.ts";
import { pollJob } from "../../workflows/steps/poll.ts";
import { type Written, writeStage } from "../../workflows/steps/write.ts";
import { FakeExecutor } from "./fake-executor.ts";
import { resetBetweenTests, seedTask, taskRow } from "./helpers.ts";

resetBetweenTests();

const T = { taskWarnUsd: 2, taskHaltUsd: 5, dayBlockUsd: 20, monthFlagUsd: 80 };
const CONFIG = {
  executorUrl: "http://executor.test",
  executorSecret: "s3cret",
  jobTimeoutMs: 180_000,
  publicUrl: "https://vault.example",
  leaseMs: 15_000,
};
const params = (taskId: string) => ({
  taskId,
  profile: "auto" as const,
  repo: "demo",
  verbosity: "mermaid" as const,
  kind: "general",
  climb: true,
});

type Result = NonNullable<JobView["result"]>;

/** A dispatch that reached an executor (not one whose lease had expired). */
async function dispatched(p: Promise<Dispatched | DispatchLapsed>): Promise<Dispatched> {
  const d = await p;
  if ("leaseExpired" in d) throw new Error(`dispatch found executor ${d.executorId}'s lease expired`);
  return d;
}

function finishedView(over: Partial<Result> = {}, runOver: Partial<Result["run"]> = {}): JobView {
  return {
    jobId: "job-1",
    jobKey: "t-x:1",
    status: "succeeded",
    createdAt: "2026-11-24T15:30:00Z",
    startedAt: "2026-11-24T15:30:01Z",
    finishedAt: "2026-11-24T15:31:00Z",
    result: {
      ok: true,
      profile: "sonnet",
      run: {
        ok: true,
        cli: "claude",
        text: "done",
        exitCode: 0,
        signal: null,
        durationMs: 900,
        costUsd: 0.3,
        costSource: "reported",
        tokens: { input: 10, output: 5, cacheRead: 2, cacheWrite: 1 },
        model: "claude-sonnet",
        sessionId: null,
        truncated: false,
        ...runOver,
      },
      files: [{ path: "a.ts", added: 1, deleted: 0 }],
      branch: "vault/t-x:1",
      commit: "abc",
      compressed: "flowchart LR\n  A",
      costUsd: 0.3,
      ...over,
    },
  };
}

describe("init and finish", () => {
  it("init moves the task to running; a missing task is final", async () => {
    const taskId = await seedTask();
    expect(await initTask(env.DB, taskId, 1)).toEqual({ taskId });
    expect(await initTask(env.DB, taskId, 2)).toEqual({ taskId }); // again: harmless
    expect((await taskRow(taskId)).status).toBe("running");
    await expect(initTask(env.DB, "t-20000101-0000-nonone", 3)).rejects.toThrow(/has no row/);
  });

  it("setTaskStatus writes status, error and flags, keeps a raised cap, and never reopens a closed task", async () => {
    const taskId = await seedTask();
    await env.DB.prepare("UPDATE tasks SET cost_usd = 2.5 WHERE id = ?1").bind(taskId).run();
    expect(
      await setTaskStatus(env.DB, {
        taskId,
        change: { status: "halted", error: "cap", budgetUsd: 9 },
        thresholds: T,
        now: Date.now(),
      }),
    ).toEqual({ taskId, status: "halted", flags: ["task_warn"] });
    expect(await taskRow(taskId)).toMatchObject({ status: "halted", error: "cap", budget_usd: 9 });
    await env.DB.prepare("UPDATE tasks SET status = 'closed' WHERE id = ?1").bind(taskId).run();
    await setTaskStatus(env.DB, {
      taskId,
      change: { status: "halted", error: "no budget event" },
      thresholds: T,
      now: Date.now(),
    });
    expect((await taskRow(taskId)).status).toBe("closed");
  });

  it("setTaskStatus flags a replay by its chain's spend, as the breaker check does", async () => {
    const original = await seedTask();
    const replay = await seedTask();
    await env.DB.batch([
      env.DB.prepare("UPDATE tasks SET cost_usd = 1.5 WHERE id = ?1").bind(original),
      env.DB.prepare("UPDATE tasks SET cost_usd = 0.6, replay_root = ?1 WHERE id = ?2").bind(original, replay),
    ]);
    expect(
      (
        await setTaskStatus(env.DB, {
          taskId: replay,
          change: { status: "failed", error: "x" },
          thresholds: T,
          now: Date.now(),
        })
      ).flags,
    ).toEqual(["task_warn"]);
  });
});

describe("dispatch and poll", () => {
  it("composePrompt: prompt, then spec, then a reviewer's instructions; promptVersion names it", async () => {
    expect(composePrompt("Fix it", null, undefined)).toBe("Fix it");
    expect(composePrompt("Fix it", "Use zod for parsing.", "keep the API")).toBe(
      "Fix it\n\nSpecification:\nUse zod for parsing.\n\nInstructions from the reviewer:\nkeep the API",
    );
    expect(await promptVersion("Fix it")).toMatch(/^[0-9a-f]{16}$/);
    expect(await promptVersion("Fix it")).toBe(await promptVersion("Fix it"));
    expect(await promptVersion("Fix it!")).not.toBe(await promptVersion("Fix it"));
  });

  it("buildJobRequest: jobKey = <task>:<attempt>, callbackUrl, the remaining budget; same inputs → same body", () => {
    const request = {
      params: { ...params("t-x"), verify: ["npm", "test"], ref: "main" },
      prompt: "Fix it",
      profile: "sonnet" as const,
      attempt: 3,
      config: CONFIG,
      budgetLeftUsd: 1.25,
    };
    const a = buildJobRequest(request);
    expect(a).toEqual({
      jobKey: "t-x:3",
      profile: "sonnet",
      prompt: "Fix it",
      repo: "demo",
      ref: "main",
      timeoutMs: 180_000,
      verbosity: "mermaid",
      verify: ["npm", "test"],
      callbackUrl: "https://vault.example/api/callback/t-x",
      maxBudgetUsd: 1.25,
    });
    expect(buildJobRequest({ ...request, params: { ...params("t-x"), verify: ["npm", "test"], ref: "main" } })).toEqual(
      a,
    );
    // Nothing left (or less than the smallest budget the contract takes) still sends a valid request.
    expect(buildJobRequest({ ...request, params: params("t-x"), budgetLeftUsd: -0.5 }).maxBudgetUsd).toBe(
      MIN_BUDGET_USD,
    );
    expect(jobKeyFor("t-x", 1)).toBe("t-x:1");
  });

  it("dispatchJob sends prompt + spec + instructions with the executor secret, records a running stage, and a retry reuses the job", async () => {
    const taskId = await seedTask({ prompt: "Create hello.txt", spec: "Greet in English." });
    const fake = new FakeExecutor(() => ({ loseCallback: true }));
    const client = executorClient(CONFIG, fake.fetch);
    const base = { taskId, attempt: 1, kind: "general", profile: "sonnet" as const };
    const dispatch = () =>
      dispatched(
        dispatchJob(env.DB, {
          clientFor: () => client,
          config: CONFIG,
          params: params(taskId),
          base,
          instructions: "be brief",
          budgetLeftUsd: 4,
          fetchable: false,
          now: Date.now(),
        }),
      );
    const first = await dispatch();
    const again = await dispatch();
    expect(first).toMatchObject({
      jobKey: `${taskId}:1`,
      status: "queued",
      promptVersion: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    // The executor answers a repeated jobKey with the job it has (here already finished): no new run.
    expect(again).toEqual({ ...first, status: "succeeded" });
    expect(fake.spawns.get(`${taskId}:1`)).toBe(1);
    expect(fake.posts.get(`${taskId}:1`)).toBe(2);
    const sent = fake.jobs.get(`${taskId}:1`)?.request;
    expect(sent?.prompt).toBe(composePrompt("Create hello.txt", "Greet in English.", "be brief"));
    expect(sent?.maxBudgetUsd).toBe(4);
    expect([...fake.tokens]).toEqual(["s3cret"]);
    const row = await env.DB.prepare("SELECT status, job_id, prompt_version, executor_id FROM stages WHERE id = ?1")
      .bind(`${taskId}:1`)
      .first();
    // No executor heartbeats: the job went to EXECUTOR_URL, the pool's `default`.
    expect(row).toEqual({
      status: "running",
      job_id: first.jobId,
      prompt_version: first.promptVersion,
      executor_id: "default",
    });
    expect(first).toMatchObject({ executorId: "default", executorUrl: CONFIG.executorUrl });
  });

  it("pollJob answers whether the job has finished; a job the executor does not know is final", async () => {
    const taskId = await seedTask();
    const fake = new FakeExecutor(() => ({ loseCallback: true, pollsBeforeDone: 2 }));
    const client = executorClient(CONFIG, fake.fetch);
    const job = await dispatched(
      dispatchJob(env.DB, {
        clientFor: () => client,
        config: CONFIG,
        params: params(taskId),
        base: { taskId, attempt: 1, kind: "general", profile: "sonnet" },
        instructions: undefined,
        budgetLeftUsd: undefined,
        fetchable: false,
        now: Date.now(),
      }),
    );
    const poll = (jobId: string, executorId = job.executorId) =>
      pollJob(env.DB, { client, jobId, executorId, config: CONFIG, now: Date.now() });
    expect(await poll(job.jobId)).toEqual({ jobId: job.jobId, status: "running", finished: false });
    expect(await poll(job.jobId)).toEqual({ jobId: job.jobId, status: "running", finished: false });
    expect(await poll(job.jobId)).toEqual({ jobId: job.jobId, status: "succeeded", finished: true });
    await expect(poll("job-unknown")).rejects.toMatchObject({ failure: "refused", retryable: false });
    // An executor the pool does not know (forgotten, or never there) holds no lease: the job is lost,
    // and the executor is not asked.
    const calls = fake.calls.length;
    expect(await poll(job.jobId, "vm-gone")).toEqual({
      jobId: job.jobId,
      status: "running",
      finished: false,
      leaseExpired: true,
    });
    expect(fake.calls.length).toBe(calls);
  });
});

describe("facts", () => {
  const base = { taskId: "t-x", attempt: 1, kind: "general", profile: "sonnet" as const };

  it("a success, a failed verify, a CLI error, and a job with no result", () => {
    expect(factsFromJob(finishedView(), base)).toMatchObject({
      status: "succeeded",
      costUsd: 0.3,
      tokensIn: 10,
      tokensCacheWrite: 1,
      errorKind: null,
      modelRun: true,
      branch: "vault/t-x:1",
      transcripts: [{ suffix: "cli", kind: "cli", text: "done" }],
    });
    const verify = factsFromJob(
      finishedView({
        ok: false,
        verify: { command: ["npm", "test"], ok: false, exitCode: 1, durationMs: 5, output: "1 failing" },
      }),
      base,
    );
    expect(verify).toMatchObject({
      status: "failed",
      errorKind: "verify",
      errorMessage: "verify failed: npm test exited 1",
      verifyOk: false,
    });
    expect(verify.transcripts.map((t) => t.kind)).toEqual(["cli", "verify"]);
    const timeout = finishedView(
      { ok: false },
      { ok: false, error: { kind: "timeout", message: "killed after 180 s" } },
    );
    expect(factsFromJob(timeout, base)).toMatchObject({
      status: "timeout",
      errorKind: "timeout",
      errorMessage: "killed after 180 s",
    });
    expect(factsFromJob({ ...finishedView(), status: "interrupted", result: null }, base)).toMatchObject({
      status: "interrupted",
      errorKind: "interrupted",
      modelRun: false,
      started: true,
      cli: "none",
      transcripts: [],
    });
    // Still queued when the executor restarted: it never started, and the stage says so.
    expect(
      factsFromJob({ ...finishedView(), status: "interrupted", startedAt: null, result: null }, base),
    ).toMatchObject({
      status: "interrupted",
      started: false,
      errorMessage: "the executor restarted before the run started",
    });
    expect(errorFacts(base, "auth", "x".repeat(5000))).toMatchObject({
      status: "error",
      errorKind: "auth",
      modelRun: false,
      costUsd: 0,
    });
    expect(errorFacts(base, "auth", "x".repeat(5000)).errorMessage).toHaveLength(2000);
  });
});

describe("write", () => {
  it("a write retried three times: one stage, one transcript, spend, runs and stats counted once", async () => {
    const taskId = await seedTask();
    const facts = factsFromJob(finishedView(), { taskId, attempt: 1, kind: "general", profile: "sonnet" });
    const now = Date.now();
    const results: Written[] = [];
    for (let i = 0; i < 3; i++) results.push(await writeStage(env.DB, facts, now + i, T));
    expect(results.every((r) => JSON.stringify(r) === JSON.stringify(results[0]))).toBe(true);
    expect(results[0]).toEqual({
      stageId: `${taskId}:1`,
      ok: true,
      status: "succeeded",
      costUsd: 0.3,
      errorKind: null,
      errorMessage: null,
      started: true,
      commit: "abc",
    });
    const count = (sql: string) => env.DB.prepare(sql).bind(taskId).first("n");
    expect(await count("SELECT count(*) AS n FROM stages WHERE task_id = ?1")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM transcripts WHERE task_id = ?1")).toBe(1);
    expect(await taskRow(taskId)).toMatchObject({ cost_usd: 0.3, attempts: 1, result: "flowchart LR\n  A" });
    expect(
      await env.DB.prepare("SELECT runs, successes, total_cost_usd FROM model_stats WHERE profile = 'sonnet'").first(),
    ).toEqual({ runs: 1, successes: 1, total_cost_usd: 0.3 });
    expect(
      await env.DB.prepare("SELECT spent_usd, runs FROM circuit_breaker WHERE scope LIKE 'month:%'").first(),
    ).toEqual({ spent_usd: 0.3, runs: 1 });
  });

  it("a retried write after a different first result keeps the first (stored facts win)", async () => {
    const taskId = await seedTask();
    const base = { taskId, attempt: 1, kind: "general", profile: "sonnet" as const };
    await writeStage(env.DB, factsFromJob(finishedView({ ok: false }), base), Date.now(), T);
    expect(await writeStage(env.DB, factsFromJob(finishedView(), base), Date.now(), T)).toMatchObject({
      ok: false,
      status: "failed",
    });
  });

  it("an error stage leaves model_stats alone (the executor's failure says nothing about the model)", async () => {
    const taskId = await seedTask();
    const facts = errorFacts(
      { taskId, attempt: 1, kind: "general", profile: "sonnet" },
      "unreachable",
      "executor unreachable",
    );
    await writeStage(env.DB, facts, Date.now(), T);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM model_stats").first("n")).toBe(0);
    expect(
      await env.DB.prepare("SELECT status, error_kind, cli FROM stages WHERE task_id = ?1").bind(taskId).first(),
    ).toEqual({ status: "error", error_kind: "unreachable", cli: "none" });
  });
});
