/**
 * A finished result survives a failing write: the CLI has run (and been paid) on the executor, then
 * D1 refuses the write through every retry. The fault is real: a trigger in D1 aborts the stage
 * write. Reconcile then writes the stage from the executor with the real cost, once.
 */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../core/config.ts";
import { scheduled } from "../../worker/scheduled.ts";
import { quietMs, reconcile } from "../../worker/services/reconcile.ts";
import { STALE_MS } from "../../worker/services/reconcile-tasks.ts";
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
  waitForEnd,
} from "./helpers.ts";

resetBetweenTests();

const FAULT = `CREATE TRIGGER stage_write_fault BEFORE UPDATE ON stages WHEN NEW.status <> 'running'
  BEGIN SELECT RAISE(ABORT, 'injected: D1 refuses the stage write'); END`;

const spend = async () =>
  (
    await env.DB.prepare(
      "SELECT COALESCE(SUM(spent_usd), 0) AS s FROM circuit_breaker WHERE scope LIKE 'day:%'",
    ).first<{
      s: number;
    }>()
  )?.s;

describe("reconcile", { timeout: 30_000 }, () => {
  it("D1 refuses the write after the CLI ran: the instance errors, reconcile restores the stage with the real cost", async () => {
    const fake = useExecutor(() => ({ costUsd: 0.25 }));
    await env.DB.exec(FAULT.replaceAll("\n", " "));
    let ran: Awaited<ReturnType<typeof runTo>>;
    try {
      ran = await runTo({ profile: "sonnet" });
    } finally {
      await env.DB.exec("DROP TRIGGER IF EXISTS stage_write_fault");
    }
    // The side effect happened before the fault: one CLI run, its result on the executor.
    expect([...fake.spawns.values()]).toEqual([1]);
    expect(ran.instance).toBe("errored");
    expect(ran.error).toContain("injected: D1 refuses the stage write");
    expect(await taskRow(ran.taskId)).toMatchObject({ status: "failed", cost_usd: 0 });
    expect((await stageRows(ran.taskId)).map((s) => [s.status, s.cost_usd])).toEqual([["running", 0]]);

    const config = getConfig(env);
    const report = await reconcile(env, config, { taskId: ran.taskId, limit: 20 }, Date.now());
    expect(report).toMatchObject({ written: 1, stillRunning: 0, errors: 0 });
    expect(report.items[0]).toMatchObject({ attempt: 1, outcome: "written", status: "succeeded", costUsd: 0.25 });
    expect((await stageRows(ran.taskId)).map((s) => [s.status, s.cost_usd])).toEqual([["succeeded", 0.25]]);
    const task = await taskRow(ran.taskId);
    expect(task).toMatchObject({ status: "succeeded", cost_usd: 0.25, error: null });
    expect(task.result).toContain("flowchart");
    expect(await spend()).toBeCloseTo(0.25, 10);

    // Again (by hand, then the cron trigger): nothing left to write, nothing counted twice.
    expect((await reconcile(env, config, { taskId: ran.taskId, limit: 20 }, Date.now())).items).toEqual([]);
    await scheduled(env);
    expect(await spend()).toBeCloseTo(0.25, 10);
    expect((await taskRow(ran.taskId)).cost_usd).toBe(0.25);
  });

  it("the scheduled trigger writes an unwritten stage once its job finishes (the poll ran out first)", async () => {
    let finished = false;
    useExecutor(() => ({ loseCallback: true, pollsBeforeDone: finished ? 0 : 1_000_000, costUsd: 0.1 }));
    const ran = await runTo({ profile: "sonnet" }, (m) => loseCallbacks(m, "sonnet"));
    await expectEnded(ran, "failed");
    expect((await stageRows(ran.taskId)).map((s) => s.status)).toEqual(["running"]);
    // The job still reads running on the executor: reconcile leaves it for later.
    const config = getConfig(env);
    expect(await reconcile(env, config, { taskId: ran.taskId, limit: 5 }, Date.now())).toMatchObject({
      stillRunning: 1,
      written: 0,
    });
    finished = true;
    await scheduled(env);
    expect((await stageRows(ran.taskId)).map((s) => [s.status, s.cost_usd])).toEqual([["succeeded", 0.1]]);
    expect(await taskRow(ran.taskId)).toMatchObject({ status: "succeeded", cost_usd: 0.1 });
  });
});

describe("reconcile finishes the task it repairs", { timeout: 30_000 }, () => {
  it("a live instance that missed the result is sent it: the instance writes the stage itself, once", async () => {
    // No callback, and the instance's first poll is a period (60 s) away: it sits in `wait sonnet #1.1`.
    const fake = useExecutor(() => ({ loseCallback: true, costUsd: 0.2 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify((m) => m.disableRetryDelays());
    await run(taskId);
    while (!fake.jobs.has(`${taskId}:1`)) await new Promise((r) => setTimeout(r, 5));
    const config = getConfig(env);
    // Right away the stage is the instance's own business.
    expect((await reconcile(env, config, { taskId, limit: 5 }, Date.now())).items).toEqual([]);
    // One wait period (and the margin) later, the finished job means the instance missed it.
    const later = Date.now() + quietMs(config.jobTimeoutMs);
    const report = await reconcile(env, config, { taskId, limit: 5 }, later);
    expect(report).toMatchObject({ woken: 1, written: 0, errors: 0 });
    expect(report.items).toEqual([expect.objectContaining({ attempt: 1, outcome: "woken" })]);
    const ran = await waitForEnd(taskId, 10_000);
    await expectEnded(ran, "succeeded");
    expect((await stageRows(taskId)).map((s) => [s.status, s.cost_usd])).toEqual([["succeeded", 0.2]]);
    expect(await spend()).toBeCloseTo(0.2, 10);
    // reconcile's read and the write step's: the instance never needed its poll.
    expect(fake.calls.filter((c) => c.startsWith("GET /jobs/"))).toHaveLength(2);
    expect((await reconcile(env, config, { taskId, limit: 5 }, later)).items).toEqual([]);
  });

  it("the instance errored and could not even mark the task: reconcile writes the stage and ends the task", async () => {
    useExecutor(() => ({ costUsd: 0.25 }));
    const taskId = await seedTask({ profile: "sonnet" });
    // Kept for the whole test: disposing the introspection would delete the errored instance.
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      // The last, best-effort `fail` step fails too (D1 still down), so the row keeps `running`.
      await m.mockStepError({ name: "fail" }, new Error("D1 down"), 3);
    });
    await env.DB.exec(FAULT.replaceAll("\n", " "));
    try {
      await run(taskId);
      await instance.waitForStatus("errored");
    } finally {
      await env.DB.exec("DROP TRIGGER IF EXISTS stage_write_fault");
    }
    expect(await taskRow(taskId)).toMatchObject({ status: "running", cost_usd: 0 });
    const config = getConfig(env);
    const report = await reconcile(env, config, { taskId, limit: 5 }, Date.now() + quietMs(config.jobTimeoutMs));
    expect(report.items).toEqual([expect.objectContaining({ outcome: "written", status: "succeeded", costUsd: 0.25 })]);
    expect(await taskRow(taskId)).toMatchObject({ status: "succeeded", cost_usd: 0.25, error: null });
    expect(await spend()).toBeCloseTo(0.25, 10);
  });

  it("a running task with no job out and an instance that ended without ending it ends failed, saying so", async () => {
    const fake = useExecutor(() => ({}));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.mockStepError({ name: "readiness #1" }, new Error("a bug"), 9);
      await m.mockStepError({ name: "fail" }, new Error("D1 down"), 3);
    });
    await run(taskId);
    await instance.waitForStatus("errored");
    expect(fake.postCount()).toBe(0);
    expect((await taskRow(taskId)).status).toBe("running");
    const config = getConfig(env);
    // Not before the row has been still for STALE_MS: a healthy instance may be retrying a step.
    expect((await reconcile(env, config, { taskId, limit: 5 }, Date.now())).tasks).toEqual([]);
    const report = await reconcile(env, config, { taskId, limit: 5 }, Date.now() + STALE_MS + 1);
    expect(report.tasks).toEqual([expect.objectContaining({ outcome: "ended", status: "failed" })]);
    expect((await taskRow(taskId)).error).toMatch(/^its workflow instance errored before the task ended/);
  });

  it("a running task whose live instance shows no sign of life is sent a wake-up event, nothing else", async () => {
    // The executor answers 503 to every dispatch: the instance sits in its retry delays, row unchanged.
    const fake = useExecutor(() => ({ httpStatus: 503 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await run(taskId);
    while (fake.postCount() === 0) await new Promise((r) => setTimeout(r, 5));
    const report = await reconcile(env, getConfig(env), { taskId, limit: 5 }, Date.now() + STALE_MS + 1);
    expect(report.tasks).toEqual([{ taskId, outcome: "woken" }]);
    expect(await taskRow(taskId)).toMatchObject({ status: "running" });
    await (await env.EXECUTE_WORKFLOW.get(taskId)).terminate();
  });
});
