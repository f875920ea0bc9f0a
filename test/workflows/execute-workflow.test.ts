/** ExecuteWorkflow end to end in workerd: the happy path, each step failing once, executor faults, D1 exhaustion. */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dispatchStep } from "../../workflows/step-config.ts";
import {
  expectEnded,
  loseCallbacks,
  resetBetweenTests,
  run,
  runTo,
  seedTask,
  stageRows,
  taskRow,
  useExecutor,
} from "./helpers.ts";

resetBetweenTests();

// Whole runs through the workflow: more than vitest's 5 s default on a loaded 2-core machine.
describe("ExecuteWorkflow: happy path", { timeout: 30_000 }, () => {
  it("one dispatch, one stage row, transcripts, stats and spend, succeeded with the result", async () => {
    const fake = useExecutor(() => ({ costUsd: 0.02 }));
    const ran = await runTo({ profile: "sonnet" });
    const { taskId } = ran;
    expect(ran.output).toEqual({ taskId, status: "succeeded", attempts: 1, flags: [] });
    expect(await stageRows(taskId)).toEqual([
      { attempt: 1, profile: "sonnet", status: "succeeded", cost_usd: 0.02, error_kind: null },
    ]);
    const task = await taskRow(taskId);
    expect(task).toMatchObject({ status: "succeeded", cost_usd: 0.02, attempts: 1, error: null });
    expect(task.result).toContain("flowchart");
    expect([...fake.spawns.entries()]).toEqual([[`${taskId}:1`, 1]]);
    // The callback woke the wait: one GET (the write step's), no poll.
    expect(fake.calls).toEqual(["GET /health", "POST /jobs", expect.stringMatching(/^GET \/jobs\//)]);
    expect([...fake.tokens]).toEqual(["test-executor-secret"]);
    const stage = await env.DB.prepare(
      'SELECT cli, model, tokens_in, tokens_out, tokens_cache_read, latency_ms, job_id, branch, "commit" FROM stages WHERE task_id = ?1',
    )
      .bind(taskId)
      .first();
    expect(stage).toMatchObject({
      cli: "claude",
      model: "sonnet-model",
      tokens_in: 1200,
      tokens_out: 34,
      tokens_cache_read: 300,
      latency_ms: 1200,
      branch: `vault/${taskId}:1`,
    });
    const tr = await env.DB.prepare("SELECT id, kind, content FROM transcripts WHERE task_id = ?1").bind(taskId).all();
    expect(tr.results).toEqual([{ id: `${taskId}:1:cli`, kind: "cli", content: "Done: created hello.txt" }]);
    const stats = await env.DB.prepare(
      "SELECT runs, successes, failures, consecutive_failures FROM model_stats WHERE profile = 'sonnet'",
    ).first();
    expect(stats).toEqual({ runs: 1, successes: 1, failures: 0, consecutive_failures: 0 });
    const spend = await env.DB.prepare("SELECT scope, spent_usd, runs FROM circuit_breaker ORDER BY scope").all();
    expect(spend.results.map((r) => [String(r.scope).split(":")[0], r.spent_usd, r.runs])).toEqual([
      ["day", 0.02, 1],
      ["month", 0.02, 1],
    ]);
  });

  it("stores a consensus run's report and both outputs", async () => {
    useExecutor(() => ({ consensus: true }));
    const { taskId } = await runTo({ profile: "consensus" });
    const tr = await env.DB.prepare("SELECT id, kind FROM transcripts WHERE task_id = ?1 ORDER BY id")
      .bind(taskId)
      .all();
    expect(tr.results.map((r) => r.id)).toEqual([`${taskId}:1:cli`, `${taskId}:1:cli-b`, `${taskId}:1:consensus`]);
    const report = await env.DB.prepare("SELECT content FROM transcripts WHERE id = ?1")
      .bind(`${taskId}:1:consensus`)
      .first<{ content: string }>();
    expect(JSON.parse(report?.content ?? "{}")).toMatchObject({ verdict: "agree" });
  });
});

describe("ExecuteWorkflow: each step failing once", { timeout: 30_000 }, () => {
  for (const name of ["breaker-check #1", "init", "dispatch sonnet #1", "write sonnet #1", "finish"]) {
    it(`'${name}' fails once → completes with one stage row, one job per jobKey, spend counted once`, async () => {
      const fake = useExecutor(() => ({ costUsd: 0.5 }));
      const { taskId } = await runTo({ profile: "sonnet" }, (m) =>
        m.mockStepError({ name }, new Error("injected once"), 1),
      );
      expect((await stageRows(taskId)).map((s) => [s.attempt, s.status])).toEqual([[1, "succeeded"]]);
      expect([...fake.spawns.entries()]).toEqual([[`${taskId}:1`, 1]]);
      expect(await taskRow(taskId)).toMatchObject({ status: "succeeded", cost_usd: 0.5 });
      const day = await env.DB.prepare("SELECT spent_usd, runs FROM circuit_breaker WHERE scope LIKE 'day:%'").first();
      expect(day).toEqual({ spent_usd: 0.5, runs: 1 });
    });
  }

  it("'poll sonnet #1.1' fails once (callback lost) → completes with one stage row", async () => {
    const fake = useExecutor(() => ({ loseCallback: true }));
    const { taskId } = await runTo({ profile: "sonnet" }, async (m) => {
      await loseCallbacks(m, "sonnet");
      await m.mockStepError({ name: "poll sonnet #1.1" }, new Error("injected once"), 1);
    });
    expect((await stageRows(taskId)).map((s) => s.status)).toEqual(["succeeded"]);
    expect([...fake.spawns.values()]).toEqual([1]);
  });

  it("'escalate #1' fails once → the ladder still climbs one rung, one job per jobKey", async () => {
    const fake = useExecutor((profile) => (profile === "deepseek" ? { errorKind: "api" } : {}));
    const { taskId } = await runTo({ profile: "auto" }, (m) =>
      m.mockStepError({ name: "escalate #1" }, new Error("injected once"), 1),
    );
    expect((await stageRows(taskId)).map((s) => [s.profile, s.status])).toEqual([
      ["deepseek", "failed"],
      ["gemini-flash", "succeeded"],
    ]);
    expect([...fake.spawns.values()]).toEqual([1, 1]);
  });
});

describe("ExecuteWorkflow: executor faults", { timeout: 30_000 }, () => {
  for (const [status, kind] of [
    [400, "refused"],
    [401, "auth"],
    [403, "auth"],
    [404, "refused"],
    [413, "refused"],
    [422, "refused"],
  ] as const) {
    it(`executor ${status} → not retried; an error stage, task failed with a clear message, instance errored`, async () => {
      const fake = useExecutor(() => ({ httpStatus: status }));
      const ran = await runTo({ profile: "sonnet" });
      const { taskId } = ran;
      await expectEnded(ran, "failed");
      expect((await taskRow(taskId)).attempts).toBe(1);
      expect(fake.postCount()).toBe(1);
      expect(await stageRows(taskId)).toEqual([
        { attempt: 1, profile: "sonnet", status: "error", cost_usd: 0, error_kind: kind },
      ]);
      const task = await taskRow(taskId);
      expect(task.status).toBe("failed");
      expect(task.error).toContain(`HTTP ${status}`);
      if (kind === "auth") expect(task.error).toContain("EXECUTOR_SECRET");
      // The executor's refusal says nothing about the model: no model_stats row, no cooldown.
      expect(await env.DB.prepare("SELECT count(*) AS n FROM model_stats").first("n")).toBe(0);
    });
  }

  it("executor 503 twice → retried; the CLI runs once", async () => {
    const fake = useExecutor(() => ({ httpStatus: 503, httpTimes: 2 }));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect(fake.postCount()).toBe(3);
    expect([...fake.spawns.values()]).toEqual([1]);
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("the job was created but its 202 was lost → the retried dispatch gets the same job: one CLI run", async () => {
    const fake = useExecutor(() => ({ loseAnswerTimes: 1 }));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect(fake.posts.get(`${taskId}:1`)).toBe(2);
    expect([...fake.spawns.values()]).toEqual([1]);
    expect(await stageRows(taskId)).toHaveLength(1);
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("executor 429 with Retry-After → retried; the CLI runs once", async () => {
    const fake = useExecutor(() => ({ httpStatus: 429, httpTimes: 1, retryAfter: "3" }));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect(fake.postCount()).toBe(2);
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("a full queue is back-pressure: 429 thirty times (far past the old 8 retries) and the task still runs, once", async () => {
    const fake = useExecutor(() => ({ httpStatus: 429, httpTimes: 30, retryAfter: "5" }));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect(fake.postCount()).toBe(31);
    expect([...fake.spawns.values()]).toEqual([1]);
    expect((await taskRow(taskId)).status).toBe("succeeded");
    expect((await stageRows(taskId)).map((s) => s.status)).toEqual(["succeeded"]);
  });

  it("executor unreachable through every retry → an `unreachable` error stage, task failed, instance errored", async () => {
    const fake = useExecutor(() => ({ networkError: true }));
    const ran = await runTo({ profile: "sonnet" });
    const { taskId } = ran;
    await expectEnded(ran, "failed");
    // The first try + every retry of dispatch's window (5 job timeouts of wrangler.toml's 180 s).
    expect(fake.postCount()).toBe(dispatchStep(180_000).retries.limit + 1);
    expect(fake.spawns.size).toBe(0);
    expect((await stageRows(taskId)).map((s) => [s.status, s.error_kind])).toEqual([["error", "unreachable"]]);
    expect((await taskRow(taskId)).error).toMatch(/could not run: executor unreachable/);
  });

  it("executor 5xx through every retry → an `executor` error stage, task failed", async () => {
    useExecutor(() => ({ httpStatus: 500 }));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect((await stageRows(taskId)).map((s) => s.error_kind)).toEqual(["executor"]);
    expect((await taskRow(taskId)).status).toBe("failed");
  });

  it("callback lost → each period of the wait ends with one poll, until the job has finished", async () => {
    const fake = useExecutor(() => ({ loseCallback: true, pollsBeforeDone: 2 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await loseCallbacks(m, "sonnet");
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    // wait #1.1 → poll: running; wait #1.2 → poll: running; wait #1.3 → poll: done; then the write's read.
    expect(fake.calls.filter((c) => c.startsWith("GET /jobs/"))).toHaveLength(4);
    for (const k of [1, 2, 3])
      expect(await instance.waitForStepResult({ name: `poll sonnet #1.${k}` })).toMatchObject({
        ok: true,
        value: { finished: k === 3 },
      });
    expect((await taskRow(taskId)).status).toBe("succeeded");
    expect(await stageRows(taskId)).toHaveLength(1);
  });

  it("a callback naming another job is not trusted: the instance polls the executor", async () => {
    const fake = useExecutor(() => ({ callbackJobId: "job-someone-else" }));
    const { taskId } = await runTo({ profile: "sonnet" });
    expect(fake.calls.filter((c) => c.startsWith("GET /jobs/"))).toHaveLength(2); // poll + write
    expect((await taskRow(taskId)).status).toBe("succeeded");
  });

  it("a job that never finishes → the wait ends after its last period; the running row is kept for reconcile, task failed, instance errored", async () => {
    const fake = useExecutor(() => ({ loseCallback: true, pollsBeforeDone: 1000 }));
    const ran = await runTo({ profile: "sonnet" }, (m) => loseCallbacks(m, "sonnet"));
    const { taskId } = ran;
    await expectEnded(ran, "failed");
    // Unwritten, not an error row: the job id stays on the `running` row for reconcile.
    expect((await stageRows(taskId)).map((s) => [s.status, s.error_kind])).toEqual([["running", null]]);
    expect((await taskRow(taskId)).error).toMatch(
      /still running after a 17-minute wait\); it is kept there and reconcile writes it/,
    );
    // 180 s job timeout: 60 s periods, 17 of them (5 job timeouts + 2 min), one poll after each.
    expect(fake.calls.filter((c) => c.startsWith("GET /jobs/"))).toHaveLength(17);
  });

  it("a 10 MiB CLI output stays out of step outputs; its transcript is capped", async () => {
    useExecutor(() => ({ textBytes: 10 * 1024 * 1024 + 1, loseCallback: true }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await loseCallbacks(m, "sonnet");
    });
    await run(taskId);
    await instance.waitForStatus("complete");
    for (const name of [
      "readiness #1",
      "choose #1",
      "dispatch sonnet #1",
      "poll sonnet #1.1",
      "write sonnet #1",
      "finish",
    ]) {
      expect(JSON.stringify(await instance.waitForStepResult({ name })).length, name).toBeLessThan(1024);
    }
    const tr = await env.DB.prepare(
      "SELECT bytes, truncated, length(content) AS len FROM transcripts WHERE task_id = ?1 AND kind = 'cli'",
    )
      .bind(taskId)
      .first();
    expect(tr).toEqual({ bytes: 10 * 1024 * 1024 + 1, truncated: 1, len: 1024 * 1024 });
  });
});

describe("ExecuteWorkflow: D1 failures", { timeout: 30_000 }, () => {
  it("a write that fails through every retry → the instance errors, and a last step marks the task failed", async () => {
    const fake = useExecutor(() => ({}));
    const ran = await runTo({ profile: "sonnet" }, (m) =>
      m.mockStepError({ name: "write sonnet #1" }, new Error("D1_ERROR: database is locked"), 7),
    );
    const { taskId } = ran;
    expect(String(ran.error)).toContain("D1_ERROR");
    const task = await taskRow(taskId);
    expect(task.status).toBe("failed");
    expect(task.error).toContain("D1_ERROR: database is locked");
    expect([...fake.spawns.values()]).toEqual([1]);
    // The attempt keeps its `running` row with the job id: reconcile can write the result later.
    expect((await stageRows(taskId)).map((r) => r.status)).toEqual(["running"]);
  });

  it("a breaker check that fails through every retry → errored instance, task failed, no dispatch", async () => {
    const fake = useExecutor(() => ({}));
    const { taskId } = await runTo({ profile: "sonnet" }, (m) =>
      m.mockStepError({ name: "breaker-check #1" }, new Error("D1_ERROR: overloaded"), 6),
    );
    expect(fake.calls).toEqual([]);
    expect((await taskRow(taskId)).status).toBe("failed");
  });
});
