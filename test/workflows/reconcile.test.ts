/**
 * A finished result survives a failing write: the CLI has run (and been paid) on the executor, then
 * D1 refuses the write through every retry. The fault is real: a trigger in D1 aborts the stage
 * write. Reconcile then writes the stage from the executor with the real cost, once.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../core/config.ts";
import { scheduled } from "../../worker/scheduled.ts";
import { reconcile } from "../../worker/services/reconcile.ts";
import { expectEnded, loseCallbacks, resetBetweenTests, runTo, stageRows, taskRow, useExecutor } from "./helpers.ts";

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
