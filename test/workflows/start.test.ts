/** startExecute and getTaskState: the bounded wait, `running` then the result, duplicates, a dead instance. */
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { clampWaitSeconds, ExecuteInput, getTaskState, startExecute } from "../../worker/services/execute.ts";
import { attemptsMermaid } from "../../workflows/progress.ts";
import { loseCallbacks, resetBetweenTests, run, seedTask, taskRow, useExecutor } from "./helpers.ts";

resetBetweenTests();

describe("startExecute / getTaskState", { timeout: 30_000 }, () => {
  it("answers running with a progress diagram, then state returns the result", async () => {
    useExecutor(() => ({ loseCallback: true }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await loseCallbacks(m, "sonnet");
    });
    const first = await run(taskId);
    expect(first).toMatchObject({ taskId, status: "running", costUsd: 0 });
    expect(first.progress).toMatch(/^flowchart LR/);
    await instance.waitForStatus("complete");
    const later = await getTaskState(env, taskId);
    expect(later).toMatchObject({ taskId, status: "succeeded", costUsd: 0.01, flags: [] });
    expect(later?.result).toContain("flowchart");
    expect(later?.progress).toBeUndefined();
  });

  it("a fast task answers within the wait with its result, calling onProgress while it waits", async () => {
    useExecutor(() => ({ costUsd: 0.04 }));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    const progress: string[] = [];
    const out = await startExecute(env, ExecuteInput.parse({ taskId }), {
      waitSeconds: 20,
      onProgress: (p) => void progress.push(p.message),
    });
    expect(out).toMatchObject({ taskId, status: "succeeded", costUsd: 0.04 });
    expect(out.result).toContain("flowchart");
    expect(progress.length).toBeGreaterThan(0);
  });

  it("refuses a duplicate: an instance with the task's id exists (instance.already_exists → conflict)", async () => {
    useExecutor(() => ({}));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => m.disableRetryDelays());
    // Another execute won the race: its instance exists while the row still says `init`.
    await env.EXECUTE_WORKFLOW.create({
      id: taskId,
      params: { taskId, profile: "sonnet", repo: "demo", verbosity: "mermaid", kind: "general", climb: true },
    });
    await expect(run(taskId)).rejects.toMatchObject({
      code: "conflict",
      message: expect.stringContaining("already exists"),
    });
    await instance.waitForStatus("complete");
    // Executing a finished task again is refused too, before any instance call.
    await expect(run(taskId)).rejects.toMatchObject({ code: "conflict" });
  });

  it("an instance that died without updating its row reads as failed, never running forever", async () => {
    useExecutor(() => ({}));
    const taskId = await seedTask({ profile: "sonnet" });
    await using instance = await introspectWorkflowInstance(env.EXECUTE_WORKFLOW, taskId);
    await instance.modify(async (m) => {
      await m.disableRetryDelays();
      await m.mockStepError({ name: "write sonnet #1" }, new Error("D1_ERROR: gone"), 7);
      await m.mockStepError({ name: "fail" }, new Error("D1_ERROR: still gone"), 3);
    });
    await run(taskId);
    await instance.waitForStatus("errored");
    expect((await taskRow(taskId)).status).toBe("running");
    expect(await getTaskState(env, taskId)).toMatchObject({
      status: "failed",
      error: expect.stringContaining("instances describe execute-workflow"),
    });
  });

  it("getTaskState of an unknown task is null", async () => {
    expect(await getTaskState(env, "t-20000101-0000-nosuch")).toBeNull();
  });

  it("the wait is bounded at 45 s whatever the caller asks; the progress diagram shows the recent attempts", () => {
    expect([-5, 0, 20, 45, 60, Number.NaN].map(clampWaitSeconds)).toEqual([0, 0, 20, 45, 45, 20]);
    const m = attemptsMermaid(
      "t-1",
      "running",
      [
        { attempt: 5, profile: "opus", status: "failed" },
        { attempt: 6, profile: "consensus", status: "timeout" },
      ],
      4,
    );
    expect(m).toBe(
      'flowchart LR\n  T["t-1"] --> M["… 4 earlier"] --> A5["#5 opus: failed"] --> A6["#6 consensus: timeout"] --> R(("running"))',
    );
  });
});
